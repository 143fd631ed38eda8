"""The shipped comparison files compare structures alone: the same levels, nothing else differs."""

from __future__ import annotations

import itertools
import tomllib

import pytest

from simulation import load

from .helpers import SCENARIOS

COMPARED = ("expert_only.toml", "peer_only.toml", "mixed.toml")
# What may differ between two comparison files: their names and what they compare.
STRUCTURE_ONLY = {"name", "description", "program.structure"}


def _flat(path) -> dict:
    """Every resolved parameter of a scenario file (schema defaults included), by dotted key."""
    out = {}
    for section, values in load(path).model_dump().items():
        if isinstance(values, dict):
            out |= {f"{section}.{k}": v for k, v in values.items()}
        else:
            out[section] = values
    return out


def _differences(a, b) -> set[str]:
    """The keys whose resolved values differ between two scenario files."""
    fa, fb = _flat(a), _flat(b)
    return {k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)}


@pytest.mark.parametrize("pair", list(itertools.combinations(COMPARED, 2)), ids="-".join)
def test_the_comparison_files_differ_only_in_the_structure(pair):
    """Any two of expert_only, peer_only and mixed differ only in name and structure."""
    a, b = (SCENARIOS / name for name in pair)
    differences = _differences(a, b)
    assert "program.structure" in differences
    assert differences <= STRUCTURE_ONLY, differences - STRUCTURE_ONLY


def test_each_comparison_file_states_its_levels():
    """Each comparison file writes out responsiveness, agency and connectivity (no defaults)."""
    for name in COMPARED:
        program = tomllib.loads((SCENARIOS / name).read_text())["program"]
        assert {"responsiveness", "agency", "connectivity"} <= set(program), name


def test_the_practised_files_differ_in_their_levels_and_say_so():
    """scenarios/practised/ mixes levels with structure, and each file is labelled as such."""
    practised = SCENARIOS / "practised"
    differences = _differences(practised / "expert_only.toml", practised / "peer_only.toml")
    assert {"program.responsiveness", "program.agency", "program.connectivity"} <= differences
    for name in COMPARED:
        text = (practised / name).read_text()
        assert "AS TYPICALLY PRACTISED, not a fair comparison" in text, name
        assert load(practised / name).name.endswith("_practised")


def test_scaling_v2_has_an_arm_for_every_expert_format_the_schema_offers():
    """experiments/scaling/v2.py reads the expert formats from the schema: one arm each."""
    import importlib.util
    import sys

    from simulation.config.schema import choices

    from .helpers import ROOT

    folder = ROOT / "experiments" / "scaling"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("scaling_v2", folder / "v2.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    arms = module.arms(30)
    formats = {o.get("experts.format") for f, o in arms.values() if f == "expert_only.toml"}
    assert set(choices("experts.format")) - {"auto"} <= formats
    assert {f for f, _ in arms.values()} == set(COMPARED)
