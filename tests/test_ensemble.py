"""The calibration ensemble: every member lands T1-T6 in band, and results carry its spread."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import ScenarioError, compare, load, run_scenario, trial
from simulation.analysis.ensemble import (
    ENSEMBLE_FILE,
    Ensemble,
    choose,
    ensemble_interval,
    load_ensemble,
)
from simulation.analysis.runner import mean_ci
from simulation.analysis.sweep import sweep
from simulation.analysis.trial import load_trial

from .helpers import ROOT, SCENARIOS, run_cli, small

CALIBRATION = ROOT / "experiments" / "calibration"
TRIALS = CALIBRATION / "trials"
T3 = TRIALS / "t3_one_to_one.toml"


def _targets_module():
    """experiments/calibration/targets.py (a script folder, not a package), imported by path."""
    sys.path.insert(0, str(CALIBRATION))
    try:
        spec = importlib.util.spec_from_file_location("calibration_targets", CALIBRATION /
                                                      "targets.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(CALIBRATION))


def _confirm_replicates() -> int:
    """The replicates each member was confirmed with (ensemble.json), so reruns are exact."""
    return int(json.loads(ENSEMBLE_FILE.with_suffix(".json").read_text())["confirm_replicates"])


def _rerun(member: int) -> pd.DataFrame:
    """T1-T6 under one member's values, as ensemble.py confirmed it."""
    chosen = load_ensemble().members[member]
    return _targets_module().evaluate(chosen.values, replicates=_confirm_replicates(), seed=0)


# ----------------------------------------------------------------------------------------------
# The file


def test_the_ensemble_file_holds_the_defaults_first_and_twenty_members_or_more():
    """ensemble.csv: member 0 is the schema defaults; at least 20 members; numbered in order."""
    ensemble = load_ensemble()
    assert len(ensemble) >= 20
    first = ensemble.members[0]
    assert first.name == "default"
    defaults = load(SCENARIOS / "peer_only.toml").model_dump()
    for key, value in first.values.items():
        section, name = key.split(".")
        assert value == pytest.approx(defaults[section][name], rel=1e-9), key
    assert len({tuple(m.values.values()) for m in ensemble.members}) == len(ensemble)


def test_every_member_recorded_every_target_inside_its_band():
    """Each member's recorded T1-T6 values (ensemble.csv) lie inside the published bands."""
    bands = {t.name: t.target for t in map(load_trial, sorted(TRIALS.glob("t*.toml")))}
    for member in load_ensemble().members:
        assert set(member.targets) == set(bands)
        for name, value in member.targets.items():
            assert bands[name].low <= value <= bands[name].high, (member.name, name, value)


@pytest.mark.parametrize("member", [0, 1])
def test_a_member_rerun_lands_every_target_in_band_as_recorded(member):
    """Members 0 and 1 rerun now land T1-T6 in band, at the values the file records.

    Fails after a change that moves the calibration: then rerun experiments/calibration/ensemble.py.
    """
    table = _rerun(member).set_index("target")
    recorded = load_ensemble().members[member].targets
    assert table["inside"].all(), table[["simulated", "band_low", "band_high"]]
    for name, value in recorded.items():
        assert table.loc[name, "simulated"] == pytest.approx(value, rel=1e-4, abs=1e-6), name


@pytest.mark.slow
def test_every_member_rerun_lands_every_target_in_band():
    """Every member of the ensemble, rerun now, lands T1-T6 inside their bands."""
    outside = {}
    for member in load_ensemble().members:
        table = _rerun(member.index)
        if not table["inside"].all():
            outside[member.name] = table.loc[~table["inside"], ["target", "simulated"]].to_dict()
    assert not outside, outside


def test_a_member_outside_a_band_is_caught():
    """A member moved off the accepted set (peer_rate tripled) leaves T1's band: the check bites."""
    values = dict(load_ensemble().members[0].values) | {"learning.peer_rate": 0.045}
    table = _targets_module().evaluate(values, replicates=1, seed=0,
                                       trials=[load_trial(TRIALS / "t1_tutees.toml")])
    assert not table["inside"].all()


# ----------------------------------------------------------------------------------------------
# The interval


def test_one_member_gives_the_usual_replicate_interval():
    """With K = 1 the combined interval is the t interval across replicates."""
    values = [0.3, 0.32, 0.31, 0.35]
    combined = ensemble_interval([values])
    assert (combined["mean"], *combined["ci95"]) == pytest.approx(mean_ci(values))


def test_the_interval_covers_the_spread_of_members_and_does_not_shrink_with_more():
    """Members spread by 0.1 give an interval wider than 0.1; 40 members do not narrow it much."""
    rng = np.random.default_rng(1)
    few = [m + rng.normal(0, 0.001, 3) for m in np.linspace(0.2, 0.3, 5)]
    many = [m + rng.normal(0, 0.001, 3) for m in np.linspace(0.2, 0.3, 40)]
    a, b = ensemble_interval(few), ensemble_interval(many)
    assert a["ci95"][1] - a["ci95"][0] > 0.1
    assert b["ci95"][1] - b["ci95"][0] > 0.1  # a CI of the mean would be about 0.02
    assert a["sd_within"] < 0.002 < a["sd_between"]


def test_the_trial_interval_with_the_ensemble_is_wider_than_the_single_set_interval():
    """T3 under 5 members: the effect's interval is wider than member 0's own and contains it."""
    single = trial(T3, replicates=2)
    result = trial(T3, replicates=2, ensemble=5)
    mean, low, high = result.statistic("d")
    s_mean, s_low, s_high = single.statistic("d")
    assert high - low > s_high - s_low
    assert low < mean < high
    assert result.summary["d"]["members"][0] == pytest.approx(s_mean, rel=1e-12)
    assert len(result.replicates) == 10 and set(result.replicates["member"]) == set(range(5))
    assert "5 ensemble members x 2 replicate(s)" in result.report()
    assert [m["member"] for m in result.to_dict()["ensemble"]["members"]] == list(range(5))


def test_runs_under_the_ensemble_share_seeds_and_differ_only_by_member():
    """run_scenario with ensemble=3: member 0 equals a plain run; every member keeps the seeds."""
    scenario = small("mixed", size=2000, steps=6)
    plain = run_scenario(scenario, replicates=2, seed=4)
    runs = run_scenario(scenario, replicates=2, seed=4, ensemble=3)
    assert runs.seeds == plain.seeds
    final = runs.final()
    assert sorted(set(final["member"])) == [0, 1, 2]
    member0 = final[final["member"] == 0].reset_index(drop=True)
    assert member0["mean_skill"].tolist() == plain.final()["mean_skill"].tolist()
    summary = runs.summary()["gain_per_capita"]
    assert summary["members"][0] == pytest.approx(plain.summary()["gain_per_capita"]["mean"])
    (a, b) = compare([scenario, small("peer_only", size=2000, steps=6)], 1, 4, ensemble=2)
    assert len(a.runs) == len(b.runs) == 2


# ----------------------------------------------------------------------------------------------
# Refusals and records


def test_a_calibrated_key_set_by_hand_is_refused_with_the_ensemble():
    """--set experts.rate with --ensemble: one line naming the key, exit code 2, nothing run."""
    done = run_cli("compare", str(SCENARIOS / "expert_only.toml"),
                   str(SCENARIOS / "peer_only.toml"), "--set", "experts.rate=0.1",
                   "--ensemble", "3")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "experts.rate" in done.stderr
    assert "--ensemble" in done.stderr


def test_more_members_than_the_file_holds_is_refused():
    """--ensemble 100000: one line saying how many members the file holds, exit code 2."""
    done = run_cli("trial", str(T3), "--ensemble", "100000")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"allowed 1 to {len(load_ensemble())}" in done.stderr


def test_an_ensemble_run_records_its_members_in_the_manifest(tmp_path):
    """A run with --ensemble 2 names both members and their values in its manifest."""
    out = tmp_path / "run"
    done = run_cli("run", str(SCENARIOS / "peer_only.toml"), "--set", "population.size=2000",
                   "--steps", "4", "--replicates", "2", "--ensemble", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "2 calibration-ensemble members" in done.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    members = manifest["ensemble"]["members"]
    assert [m["member"] for m in members] == [0, 1]
    assert members[1]["values"] == load_ensemble().members[1].values
    frame = pd.read_parquet(out / "metrics.parquet")
    assert sorted(set(frame["member"])) == [0, 1]


def test_a_sweep_under_the_ensemble_has_a_member_column_and_refuses_calibrated_parameters(
    tmp_path,
):
    """A sweep with ensemble=2 runs every point under both members; a calibrated key is refused."""
    text = f"""
name = "ens"
seed = 3
replicates = 2
[base]
scenario = "{SCENARIOS / "peer_only.toml"}"
set = {{ "population.size" = 2000, "run.steps" = 4 }}
[design]
kind = "grid"
[parameters]
"program.connectivity" = {{ values = [0, 2] }}
[[outputs]]
metric = "gain_per_capita"
"""
    path = tmp_path / "ens.toml"
    path.write_text(text)
    result = sweep(path, out=tmp_path / "out", workers=1, ensemble=2)
    assert list(result.points.columns[:3]) == ["point", "member", "replicate"]
    assert len(result.points) == 2 * 2 * 2
    assert (result.summary["members"] == 2).all()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('"program.connectivity"', '"experts.rate"').replace(
        "values = [0, 2]", "values = [0.05, 0.1]"))
    with pytest.raises(ScenarioError, match=r"experts\.rate"):
        sweep(bad, out=tmp_path / "bad", workers=1, ensemble=2)


def test_an_ensemble_file_that_is_not_one_is_a_one_line_error(tmp_path):
    """A CSV without parameter columns is refused, naming the file."""
    path = tmp_path / "e.csv"
    path.write_text("member,name\n0,default\n")
    with pytest.raises(ScenarioError, match=re.escape(str(path))):
        load_ensemble(path)
    assert isinstance(choose(1), Ensemble)
    assert math.isfinite(load_ensemble().members[0].values["experts.rate"])


def test_the_ensemble_file_is_where_the_docs_say():
    """The file lives in experiments/calibration/ beside the script that makes it."""
    assert ENSEMBLE_FILE == CALIBRATION / "ensemble.csv"
    assert (CALIBRATION / "ensemble.py").is_file()
    assert Path(ENSEMBLE_FILE.with_suffix(".json")).is_file()


def test_a_comparison_under_the_ensemble_writes_member_by_member_differences(tmp_path):
    """A comparison with --ensemble 3 writes each scenario minus the first, member by member."""
    out = tmp_path / "compare"
    done = run_cli("compare", str(SCENARIOS / "expert_only.toml"),
                   str(SCENARIOS / "peer_only.toml"), "--set", "population.size=2000",
                   "--steps", "4", "--replicates", "2", "--ensemble", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    gaps = pd.read_csv(out / "differences.csv").set_index("metric")
    row = gaps.loc["gain_per_capita"]
    assert (row["scenario"], row["minus"], row["members"]) == ("peer_only", "expert_only", 3)
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert "peer_only minus expert_only, gain_per_capita" in done.stdout
    assert json.loads((out / "manifest.json").read_text())["ensemble"]["members"][2]["member"] == 2
