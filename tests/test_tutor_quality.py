"""Tutor quality as a programme scales (learning.strong_tutors): recruited quality thins out."""

import numpy as np
import pytest

from simulation import PeerLearningModel
from simulation.core.counter_rng import DRAW_QUALITY, STREAM_INIT_PROGRAMME, uniforms
from simulation.core.encoding import TUTOR_ROLE
from simulation.core.population import strong_share, tutors_needed

from .helpers import small


@pytest.mark.parametrize(("size", "share"), [(1_000, 1.0), (10_000, 0.2), (100_000, 0.02)])
def test_the_share_of_strong_tutors_falls_as_the_programme_needs_more_tutors(size, share):
    """With 2,000 strong tutors in the region, a programme of n tutors gets min(1, 2000 / n)."""
    sc = small("peer_only", size=size, learning__strong_tutors=2000, program__connectivity=0)
    assert tutors_needed(sc) == size
    assert strong_share(sc) == pytest.approx(share)


def test_split_programmes_need_only_their_tutors():
    """With split roles only the tutor share of participants is recruited as tutors."""
    sc = small("peer_only", size=10_000, learning__roles="split", learning__tutor_share=0.25,
               learning__participation=0.8, learning__strong_tutors=1000,
               program__connectivity=0)
    assert tutors_needed(sc) == 2000
    assert strong_share(sc) == pytest.approx(0.5)


def test_strong_tutors_are_a_pure_function_of_seed_and_id_in_the_expected_share():
    """Who is strong is each agent's own draw: about the share, the same for the same seed."""
    ids = np.arange(50_000)
    draws = uniforms(3, STREAM_INIT_PROGRAMME, 0, ids, DRAW_QUALITY)
    assert np.array_equal(draws, uniforms(3, STREAM_INIT_PROGRAMME, 0, ids, DRAW_QUALITY))
    share = np.mean(draws < 0.2)
    assert abs(share - 0.2) < 4 * np.sqrt(0.2 * 0.8 / ids.size)


def _week_one(strong: int) -> dict:
    sc = small("peer_only", size=5000, steps=1, program__connectivity=0, program__agency=2,
               program__responsiveness=0, learning__strong_tutors=strong,
               learning__strong_tutor_skill=0.9)
    model = PeerLearningModel(sc, seed=4)
    model.step()
    return model.metrics


def test_tutees_learn_more_from_strong_tutors_and_less_as_they_thin_out():
    """Week 1's tutee gain: all strong > a tenth strong > none strong (same draws otherwise)."""
    gain = [_week_one(strong)["mean_tutee_gain"] for strong in (5000, 500, 0)]
    assert gain[0] > gain[1] > gain[2]


def _pool_tutees(strong: int, connectivity: int) -> dict:
    """Week 1 where tutees' only tutors are in other classes.

    Every tenth class tutors (skill 0.3, twice the ideal gap above the tutees' 0.1); the others
    are tutees.
    """
    sc = small("peer_only", size=1000, steps=1, population__community_size=10,
               learning__roles="split", program__agency=2, program__responsiveness=0,
               program__connectivity=connectivity, levels__pool_contacts=(0, 16, 16),
               learning__strong_tutors=strong, learning__strong_tutor_skill=0.9,
               motivation__threshold=0.0)
    model = PeerLearningModel(sc, seed=4)
    pop = model.population
    for c in range(100):
        first = int(pop.community_start[c])
        tutors = c % 10 == 0
        pop.skill[first:first + 10] = np.float32(0.3 if tutors else 0.1)
        pop.flags[first:first + 10] &= ~TUTOR_ROLE
        if tutors:
            pop.flags[first:first + 10] |= TUTOR_ROLE
    model.step()
    return model.metrics


@pytest.mark.parametrize("connectivity", [1, 2])
def test_tutors_met_through_the_pool_teach_with_their_own_quality(connectivity):
    """Taught only through the pool, tutees find better teaching when all tutors are strong."""
    strong, plain = _pool_tutees(1000, connectivity), _pool_tutees(0, connectivity)
    assert strong["tutee_fraction"] == plain["tutee_fraction"] > 0.5  # the same contacts
    assert strong["mean_partner_efficacy"] > plain["mean_partner_efficacy"] + 0.1
