"""What a run costs: teaching hours and hours per unit of skill gained (analysis.runner)."""

import math

import pandas as pd
import pytest

from simulation.analysis.runner import run_scenario, run_totals

from .helpers import small


def test_hours_per_gain_divides_every_teaching_hour_by_everyones_gain():
    """Hours of every kind over the run / (mean gain x learners present, week by week)."""
    weeks = pd.DataFrame({
        "step": [0, 1, 2], "present": [100, 100, 120], "mean_gain": [0.0, 0.01, -0.005],
        "expert_hours": [0.0, 3.0, 3.0], "preparation_hours_total": [0.0, 1.0, 2.0],
    })
    totals = run_totals(weeks, peers=False)
    gained = 100 * 0.01 + 120 * -0.005  # drop-outs' forgetting counts against the gain
    assert totals["teaching_hours"] == 9.0
    assert totals["hours_per_gain"] == pytest.approx(9.0 / gained)
    assert totals["gain_per_capita"] == pytest.approx(0.005)


def test_peer_tutors_time_is_unknown_not_free_until_peer_hours_are_reported():
    """A structure whose learners teach has no hours_per_gain without peer_hours; with it, one."""
    weeks = pd.DataFrame({"step": [0, 1], "present": [10, 10], "mean_gain": [0.0, 0.1],
                          "expert_hours": [0.0, 1.0]})
    assert math.isnan(run_totals(weeks, peers=True)["hours_per_gain"])
    weeks["peer_hours"] = [0.0, 4.0]
    assert run_totals(weeks, peers=True)["hours_per_gain"] == pytest.approx(5.0 / 1.0)


def test_nothing_gained_has_no_cost_per_gain():
    """A run in which skill fell reports n/a, not a negative or infinite cost."""
    weeks = pd.DataFrame({"step": [0, 1], "present": [10, 10], "mean_gain": [0.0, -0.01],
                          "expert_hours": [0.0, 1.0]})
    assert math.isnan(run_totals(weeks, peers=False)["hours_per_gain"])


def test_every_structure_reports_its_costs_in_the_summary():
    """Every structure reports hours per gain; peer_only's counts its tutors' peer_hours."""
    expert = run_scenario(small("expert_only", size=2000, steps=6), replicates=2, seed=1)
    summary = expert.summary()
    final = expert.final()
    hours = expert.frame.groupby("replicate")["expert_hours"].sum()
    assert summary["teaching_hours"]["mean"] == pytest.approx(hours.mean())
    assert summary["hours_per_gain"]["mean"] > 0
    assert "itt_gain" in summary and "start_band_0_gain" in summary
    groups = run_scenario(small("study_groups", size=2000, steps=6), replicates=1, seed=1)
    prep = groups.frame["preparation_hours_total"].sum()
    assert prep > 0 and groups.final()["teaching_hours"].iloc[0] == pytest.approx(prep)
    peers = run_scenario(small("peer_only", size=2000, steps=4), replicates=1, seed=1)
    tutors = peers.frame["peer_hours"].sum()
    assert tutors > 0 and peers.final()["teaching_hours"].iloc[0] == pytest.approx(tutors)
    assert peers.final()["hours_per_gain"].iloc[0] > 0
    assert final["hours_per_gain"].notna().all()
