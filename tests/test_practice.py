"""A week of practice: a session taken part in counts, whatever it added (docs/ODD.md 7.5)."""

import numpy as np

from simulation import PeerLearningModel
from simulation.core.encoding import ACTIVE, WAS_TUTOR

from .helpers import small


def _pairs(expectancy: float):
    """Pairs of novices (T6's lab setting, everyone engaged) after one week of peer teaching."""
    sc = small(
        "peer_only", size=2000, steps=1, population__community_size=2, pyramid__layers=1,
        pyramid__top_skill=0.02, program__agency=0, program__connectivity=0,
        motivation__initial_min=1.0, motivation__initial_max=1.0, motivation__threshold=0.0,
        learning__teaching_expectancy=expectancy,
    )
    model = PeerLearningModel(sc, seed=3)
    before = model.population.skill[:2000].copy()
    model.step()
    pop = model.population
    return before, pop.skill[:2000].copy(), pop.motivation[:2000].copy(), pop.flags[:2000].copy()


def test_a_tutor_without_teaching_expectancy_practises_and_does_not_forget():
    """At teaching_expectancy 0 the higher partner keeps its skill and its motivation matches 1e-6.

    The higher member of each pair only teaches: at expectancy 0 its gain is exactly 0, and at
    1e-6 almost 0. Both weeks are practice (the session took place), so neither forgets or takes
    the no-contact penalty: skills equal the start, and motivations equal those at 1e-6 exactly
    (the progress term is 0 for a partner who is not taught). Who taught: the tutors at 1e-6
    (the same draws; a few of the higher partners drew only themselves as contacts).
    """
    start, zero, m_zero, _ = _pairs(0.0)
    _, tiny, m_tiny, flags = _pairs(1e-6)
    higher = (flags & WAS_TUTOR) != 0
    assert higher.sum() > 900
    assert np.array_equal(zero[higher], start[higher])
    assert np.array_equal(m_zero[higher], m_tiny[higher])
    assert np.all(tiny[higher] >= start[higher])


def test_a_learner_without_any_session_still_forgets():
    """A learner who meets nobody (peers not enrolled) forgets and pays the no-contact penalty."""
    sc = small("peer_only", size=500, steps=1, learning__participation=0.0)
    model = PeerLearningModel(sc, seed=3)
    before = model.population.skill[:500].astype(np.float64)
    m_before = model.population.motivation[:500] / 65535.0
    model.step()
    pop = model.population
    active = (pop.flags[:500] & ACTIVE) != 0
    forgetting = sc.learning.forgetting
    assert np.allclose(pop.skill[:500], before * (1.0 - forgetting), rtol=1e-6)
    drift = pop.motivation[:500][active] / 65535.0 - m_before[active]
    # The penalty, the agency decay, then a shock of at most +-shock.
    assert np.all(drift <= -sc.motivation.no_contact_penalty + sc.motivation.shock + 1e-4)
