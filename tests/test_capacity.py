"""Tutor capacity (learning.tutor_capacity): a tutor takes at most c tutees a week."""

import numpy as np
import pytest

from simulation import PeerLearningModel
from simulation.core.efficacy import EFFICACY_TABLE, efficacy
from simulation.core.encoding import TUTOR_ROLE
from simulation.kernels.pool import dealt_slot, gather_pool

from .helpers import run_cli, small

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


def _pool_only_tutors(capacity: int) -> tuple[PeerLearningModel, int, int]:
    """Every tenth class all tutors (skill 0.15), the others all tutees (0.05); week 1.

    Tutees have no tutor in their own class, so every tutee taught was taught through the pool
    (connectivity 1, 16 pool contacts each, full choice). Returns the model, the tutors the
    week's pool offered (each once) and their slots dealt to tutee classes (kernels/pool.py).
    """
    sc = small(
        "peer_only", size=COMMUNITIES * SIZE, steps=1, population__community_size=SIZE,
        learning__roles="split", program__agency=2, program__connectivity=1,
        levels__pool_contacts=(0, 16, 16), learning__tutor_capacity=capacity,
        motivation__threshold=0.0,
    )
    model = PeerLearningModel(sc, seed=9)
    pop = model.population
    for c in range(COMMUNITIES):
        first = int(pop.community_start[c])
        tutors = c % 10 == 0
        pop.skill[first:first + SIZE] = np.float32(0.15 if tutors else 0.05)
        pop.flags[first:first + SIZE] &= ~TUTOR_ROLE
        if tutors:
            pop.flags[first:first + SIZE] |= TUTOR_ROLE
    pool = gather_pool(pop, sc, 9, 1)
    model.step()
    # The slots of offered tutors dealt to tutee classes (a slot dealt to a tutors' class idles).
    deal, slots = capacity * 2, pool.members.size * capacity
    dealt = sum(
        int(pool.members[dealt_slot(pool.deal_key, x * deal + r, slots) // capacity] >= 0.0)
        for x in range(COMMUNITIES) if x % 10 for r in range(deal)
    )
    return model, int(np.count_nonzero(pool.members >= 0.0)), dealt


@pytest.mark.parametrize("capacity", [1, 3])
def test_a_tutor_met_through_the_pool_teaches_at_most_its_capacity(capacity):
    """Each pool tutor's c slots are dealt once each: at most c tutees per offered tutor.

    Tutees outnumber the slots (90 classes of 10 against at most 20 pool tutors) and every tutee
    class finds all its slots with 160 draws, so each slot of an offered tutor dealt to a tutee
    class teaches exactly one tutee.
    """
    model, offered, dealt = _pool_only_tutors(capacity)
    assert 0 < offered <= 20
    assert _taught(model) == dealt <= capacity * offered
    assert dealt >= 0.7 * capacity * offered  # most slots reach tutees (10% of classes tutor)


def test_without_a_capacity_pool_tutors_teach_every_tutee_who_meets_them():
    """The check above can fail: with no limit every tutee who meets a pool tutor is taught.

    About 18 of the 200 pool members are tutors, so a tutee's 16 draws meet one with chance
    1 - 0.91^16 = 0.78: about 700 of the 900 tutees, not 3 per tutor.
    """
    model, offered, _ = _pool_only_tutors(0)
    assert _taught(model) > 600 > 3 * offered


def _run(capacity: int, partner: str = "own_choice") -> PeerLearningModel:
    sc = small("peer_only", size=20_000, steps=6, program__connectivity=0,
               learning__tutor_capacity=capacity, learning__teaching_partner=partner)
    model = PeerLearningModel(sc, seed=5)
    model.run()
    return model


def test_a_capacity_no_tutor_reaches_equals_no_limit_bit_for_bit():
    """Communities of 100: a capacity of 100 never binds, so nothing changes, to the last bit.

    The tutor side is each learner's own choice below, as without a capacity
    (learning.teaching_partner = own_choice), so the capacity limits only who may learn from a
    tutor.
    """
    free, roomy = _run(0), _run(100)
    assert np.array_equal(free.population.skill, roomy.population.skill)
    assert free.metrics == roomy.metrics


def test_teaching_only_matched_tutees_is_another_rule_not_a_limit():
    """The check above can fail: if teaching follows matched tutees, fewer learners teach."""
    own, matched = _run(100), _run(100, "matched")
    assert matched.metrics["tutor_fraction"] < 0.7 * own.metrics["tutor_fraction"]
    assert matched.metrics["tutee_fraction"] == pytest.approx(own.metrics["tutee_fraction"],
                                                              abs=0.02)


def test_matched_teaching_without_a_capacity_is_refused_in_one_line():
    """Nothing is matched without a capacity: one line naming the key, exit 2."""
    result = run_cli("run", "scenarios/peer_only.toml", "--set",
                     "learning.teaching_partner=matched")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "learning.teaching_partner" in result.stderr


def test_the_capacity_scenario_and_trial_run_through_the_cli(tmp_path):
    """`peerscale run` takes scenarios/peer_capacity.toml and `peerscale trial` its trial file."""
    run = run_cli("run", "scenarios/peer_capacity.toml", "--set", "run.steps=2", "--set",
                  "population.size=2000", "--replicates", "1", "--out", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    assert "peer tutor hours" in run.stdout
    trial = run_cli("trial", "experiments/programmes/cross_age_capacity.toml", "--replicates",
                    "1", "--out", str(tmp_path / "trial"))
    assert trial.returncode == 0, trial.stderr
