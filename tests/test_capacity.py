"""Tutor capacity (learning.tutor_capacity): a tutor takes at most c tutees a week."""

import numpy as np
import pytest

from simulation import PeerLearningModel, ScenarioError, load
from simulation.core.efficacy import EFFICACY_TABLE, efficacy
from simulation.core.encoding import TUTOR_ROLE

from .helpers import SCENARIOS, run_cli, small

COMMUNITIES, SIZE = 100, 10


def _two_tutors(capacity: int) -> PeerLearningModel:
    """Classes of 10: tutor A at the ideal gap above 8 tutees, tutor B a little closer; week 1.

    Every tutee weighs both tutors (64 candidates, full choice); A teaches with efficacy 1 and
    B with e(0.7 Z), so without a limit every tutee picks A.
    """
    sc = small(
        "peer_only", size=COMMUNITIES * SIZE, steps=1, population__community_size=SIZE,
        learning__roles="split", learning__candidates=64, program__agency=2,
        program__connectivity=0, learning__tutor_capacity=capacity, learning__tutor_hours=1.5,
        motivation__threshold=0.0,
    )
    model = PeerLearningModel(sc, seed=9)
    pop = model.population
    for c in range(COMMUNITIES):
        first = int(pop.community_start[c])
        pop.skill[first:first + SIZE] = np.float32(0.05)
        pop.skill[first] = np.float32(0.15)
        pop.skill[first + 1] = np.float32(0.12)
        pop.flags[first:first + SIZE] &= ~TUTOR_ROLE
        pop.flags[first:first + 2] |= TUTOR_ROLE
    model.step()
    return model


def _taught(model: PeerLearningModel) -> int:
    """Learners taught by a peer this week."""
    return round(model.metrics["tutee_fraction"] * model.metrics["active"])


def _e(gap: float) -> float:
    return float(efficacy(np.float64(gap), 0.1, EFFICACY_TABLE))


def test_with_capacity_one_no_tutor_teaches_two_tutees_in_a_week():
    """At capacity 1 each class has exactly two tutees taught: one by A, the next by B."""
    model = _two_tutors(1)
    assert _taught(model) == 2 * COMMUNITIES
    gap_a = np.float64(np.float32(0.15)) - np.float64(np.float32(0.05))
    gap_b = np.float64(np.float32(0.12)) - np.float64(np.float32(0.05))
    expected = (_e(gap_a) + _e(gap_b)) / 2  # one tutee at A, the next best at B
    assert model.metrics["mean_partner_efficacy"] == pytest.approx(expected, rel=1e-9)
    assert model.metrics["peer_hours"] == 1.5 * 2 * COMMUNITIES


def test_a_learner_whose_best_tutor_is_full_takes_the_next_best_or_waits():
    """At capacity 3 six tutees per class are taught (3 by A, 3 by B); two wait."""
    model = _two_tutors(3)
    assert _taught(model) == 6 * COMMUNITIES
    assert model.metrics["peer_hours"] == 1.5 * 6 * COMMUNITIES


def test_without_a_capacity_every_tutee_chooses_the_same_best_tutor():
    """The checks above can fail: with no limit all 8 tutees of a class are taught, by A."""
    model = _two_tutors(0)
    assert _taught(model) == 8 * COMMUNITIES
    assert model.metrics["mean_partner_efficacy"] > 0.99


def test_a_finite_capacity_with_pool_contacts_is_refused_in_one_line():
    """Capacity with connectivity 1-2 is not built: one line naming the key, not a silent run."""
    with pytest.raises(ScenarioError, match=r"learning\.tutor_capacity"):
        load(SCENARIOS / "peer_only.toml", {"learning.tutor_capacity": 2})
    result = run_cli("run", "scenarios/peer_only.toml", "--set", "learning.tutor_capacity=2")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "learning.tutor_capacity" in result.stderr


def test_the_capacity_scenario_and_trial_run_through_the_cli(tmp_path):
    """`peerscale run` takes scenarios/peer_capacity.toml and `peerscale trial` its trial file."""
    run = run_cli("run", "scenarios/peer_capacity.toml", "--set", "run.steps=2", "--set",
                  "population.size=2000", "--replicates", "1", "--out", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    assert "peer tutor hours" in run.stdout
    trial = run_cli("trial", "experiments/programmes/cross_age_capacity.toml", "--replicates",
                    "1", "--out", str(tmp_path / "trial"))
    assert trial.returncode == 0, trial.stderr
