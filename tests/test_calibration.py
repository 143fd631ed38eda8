"""Calibration: with the default parameters every published target T1-T6 lies inside its band."""

import importlib.util
import re
import sys

import pandas as pd
import pytest

from simulation.analysis.results import citation_version, provenance
from simulation.analysis.trial import load_trial, run_trial

from .helpers import ROOT

CALIBRATION = ROOT / "experiments" / "calibration"
TRIALS = CALIBRATION / "trials"
REPLICATES = 3  # common random numbers make d precise with few replicates


def _module(name: str):
    """Import a script of experiments/calibration (not a package) by path."""
    sys.path.insert(0, str(CALIBRATION))
    try:
        path = CALIBRATION / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"calibration_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(CALIBRATION))


@pytest.fixture(scope="module")
def calibration_table(tmp_path_factory) -> pd.DataFrame:
    """The calibration experiment itself (run.py), with few replicates, into a temporary folder."""
    out = tmp_path_factory.mktemp("calibration") / "output"
    table = _module("run").main(["--replicates", str(REPLICATES), "--out", str(out)])
    table.attrs["out"] = out
    return table


def test_calibration_experiment_writes_table_figure_and_manifest(calibration_table):
    """run.py writes the table as Markdown and CSV, the figure as PNG and PDF, and provenance."""
    out = calibration_table.attrs["out"]
    assert sorted(p.name for p in out.iterdir()) == [
        "figure.pdf", "figure.png", "manifest.json", "table.csv", "table.md"
    ]
    assert (out / "figure.png").stat().st_size > 20_000
    csv = pd.read_csv(out / "table.csv")
    assert list(csv["target"]) == [p.stem for p in sorted(TRIALS.glob("t*.toml"))]
    markdown = (out / "table.md").read_text()
    assert len(re.findall(r"^\| t\d_", markdown, re.MULTILINE)) == 6
    assert "Cohen, Kulik & Kulik (1982)" in markdown


@pytest.mark.parametrize(
    "target",
    ["t1_tutees", "t2_tutors", "t3_one_to_one", "t4_class_size", "t5_solo_course",
     "t6_preparation"],
)
def test_each_target_lies_inside_its_published_band(calibration_table, target):
    """The simulated statistic of each virtual trial (mean of replicates) lies inside the band."""
    row = calibration_table.set_index("target").loc[target]
    assert row["band_low"] <= row["simulated"] <= row["band_high"], row.to_dict()
    assert row["ci_low"] <= row["simulated"] <= row["ci_high"]


def test_tutors_gain_of_the_same_order_as_tutees(calibration_table):
    """In the school programme (T2) a tutor gains 0.8-1.2 times what a tutee gains each week.

    Both roles in T2: a tutor's weekly gain from teaching against a tutee's from being tutored
    (docs/calibration.md, the literature's notes).
    """
    ratio = calibration_table.set_index("target").loc["t2_tutors", "tutor_tutee_gain_ratio"]
    assert 0.8 <= ratio <= 1.2, ratio


# One perturbation per target, each a plausible-looking but wrong parameter set: the test above
# can fail, because each of these moves its target out of the band.
PERTURBED = {
    "t1_tutees": {"learning.peer_rate": 0.03},  # peers teach three times too well
    "t2_tutors": {"learning.tutor_rate": 0.002},  # teaching is worth little
    # Attention hardly shared: a class is as good as a tutor.
    "t3_one_to_one": {"experts.class_size_slope": 0.05},
    "t4_class_size": {"experts.class_size_slope": 0.0},  # class size does not matter at all
    # A fixed path never demotivates.
    "t5_solo_course": {"levels.agency_decay": [0.005, 0.005, 0.005]},
    "t6_preparation": {"learning.tutor_rate": 0.004},  # preparation barely pays
}


@pytest.mark.parametrize("target", list(PERTURBED))
def test_a_perturbed_parameter_set_leaves_the_band(target):
    """With a perturbed parameter set the trial falls outside its band: calibration has teeth."""
    spec = load_trial(TRIALS / f"{target}.toml")
    change = PERTURBED[target]
    spec = spec.with_changes(
        control=spec.control.with_overrides(change),
        treatment=spec.treatment.with_overrides(change),
    )
    result = run_trial(spec, replicates=REPLICATES)
    assert result.inside is False, result.statistic()


def test_trial_files_state_their_settings_so_defaults_cannot_move_them():
    """Each arm states its structure, population size and levels; the horizon is the trial's own."""
    for path in sorted(TRIALS.glob("t*.toml")):
        text = path.read_text()
        for required in ("weeks =", "[both.population]", "size =", "[both.pyramid]",
                         "responsiveness =", "agency =", "connectivity =", "[target]", "source ="):
            assert required in text, (path.name, required)
        assert "structure =" in text, path.name


def test_citation_file_names_the_version_every_manifest_records():
    """CITATION.cff (CFF 1.2.0) has PeerScale's title and version; manifests carry the same."""
    text = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^cff-version: 1\.2\.0$", text, re.MULTILINE)
    assert re.search(r'^title: "PeerScale"$', text, re.MULTILINE)
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE).group(1)
    assert re.search(rf"^version: {re.escape(version)}$", text, re.MULTILINE)
    manifest = provenance()
    assert manifest["peerscale_version"] == citation_version()
    assert citation_version() in manifest["cite_as"] and "CITATION.cff" in manifest["cite_as"]
