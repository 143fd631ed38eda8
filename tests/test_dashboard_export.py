"""Exports of the dashboard: scenario TOML that `peerscale run` accepts, metrics, figures."""

from __future__ import annotations

import pytest

from simulation import Scenario, load
from simulation.config.saving import scenario_toml

from .helpers import SCENARIOS


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_a_scenario_written_as_toml_reads_back_equal(path, tmp_path):
    """Every parameter of every shipped scenario survives writing and reading, floats exactly."""
    scenario = load(path).with_overrides({"learning.optimal_gap": 0.1 + 0.2})  # 0.30000000000000004
    written = tmp_path / "written.toml"
    written.write_text(scenario_toml(scenario, header="a header\nof two lines"), encoding="utf-8")
    assert written.read_text(encoding="utf-8").startswith("# a header\n# of two lines\n")
    assert load(written) == scenario


def test_a_written_scenario_escapes_text():
    """Quotes, backslashes and newlines in a description stay text, not TOML syntax."""
    scenario = Scenario(description='say "hi"\\ then\nnew line')
    import tomllib

    assert tomllib.loads(scenario_toml(scenario))["description"] == scenario.description
