"""The model's claims (docs/ODD.md, sections 1 and 7), each as a test that can fail."""

import numpy as np

from simulation import PeerLearningModel
from simulation.core.encoding import WAS_TUTOR

from .helpers import small


def per_capita_gain(model: PeerLearningModel) -> float:
    """Skill gained per member of the population over the run."""
    return float(model.metrics_frame()["mean_gain"].sum())


def test_learners_gain_most_from_a_partner_near_the_optimal_gap():
    """In pairs of a learner and a partner above, the learner gains most when the gap is near Z."""
    z = 0.1
    gaps = np.round(np.arange(0.01, 0.61, 0.01), 3)
    sc = small(
        "peer_only", size=2 * gaps.size, steps=1, population__community_size=2,
        learning__optimal_gap=z, learning__candidates=32, program__agency=2,
        program__connectivity=0, program__responsiveness=0, learning__peer_teaching_skill=0.0,
        motivation__shock=0.0,
    )
    model = PeerLearningModel(sc, seed=1)
    pop = model.population
    pop.skill[0::2] = 0.2
    pop.skill[1::2] = (0.2 + gaps).astype(np.float32)
    pop.motivation[:] = 60000
    model.step()
    gain = pop.skill[0::2].astype(np.float64) - np.float32(0.2)
    assert (gain > 0).all()
    best = gaps[np.argmax(gain)]
    assert abs(best - z) <= 0.011, best
    assert gain[np.argmin(abs(gaps - z))] > 2 * gain[np.argmin(abs(gaps - 5 * z))]
    assert gain[np.argmin(abs(gaps - z))] > 1.5 * gain[np.argmin(abs(gaps - z / 4))]


def test_tutors_gain_from_teaching():
    """Agents who tutor end higher than the same agents when teaching brings no gain (same seed)."""
    finals = {}
    for expectancy in (1.0, 0.0):
        scenario = small(
            "peer_only", size=20_000, steps=12, learning__teaching_expectancy=expectancy
        )
        model = PeerLearningModel(scenario, seed=3)
        model.run()
        finals[expectancy] = model
    with_teaching = finals[1.0]
    tutors = (with_teaching.population.flags & WAS_TUTOR) != 0
    assert tutors.mean() > 0.5
    assert with_teaching.metrics["mean_tutor_gain"] > 0
    assert finals[0.0].metrics["mean_tutor_gain"] == 0
    a = with_teaching.population.skill[tutors].astype(np.float64)
    b = finals[0.0].population.skill[tutors].astype(np.float64)
    d = (a.mean() - b.mean()) / b.std()
    assert d > 0.1, d


def test_peer_learning_scales_when_experts_do_not():
    """Per-capita gain falls under expert_only, not under peer_only, as the population grows.

    The population grows 100-fold; the number of experts stays at 10.
    """
    gains = {}
    for structure in ("expert_only", "peer_only"):
        for size in (2_000, 200_000):
            scenario = small(structure, size=size, steps=10, experts__count=10)
            model = PeerLearningModel(scenario, seed=2)
            model.run()
            gains[structure, size] = per_capita_gain(model)
    assert gains["expert_only", 200_000] < 0.8 * gains["expert_only", 2_000]
    assert abs(gains["peer_only", 200_000] / gains["peer_only", 2_000] - 1.0) < 0.05


def test_peer_learning_scales_when_tutors_time_is_limited():
    """With two tutees a tutor a week, peer learning still holds its gain as it grows 100-fold.

    Tutors met through the pool have their capacity too; the gain is a little below unlimited
    tutors' at each size.
    """
    gains = {}
    for capacity in (0, 2):
        for size in (2_000, 200_000):
            scenario = small("peer_only", size=size, steps=10, learning__tutor_capacity=capacity)
            model = PeerLearningModel(scenario, seed=2)
            model.run()
            gains[capacity, size] = per_capita_gain(model)
    assert abs(gains[2, 200_000] / gains[2, 2_000] - 1.0) < 0.05
    assert 0.8 * gains[0, 200_000] < gains[2, 200_000] < gains[0, 200_000]


def test_higher_connectivity_gives_partners_closer_to_the_optimal_gap():
    """Mean distance of the partner's effective gap from Z falls with each connectivity level."""
    misfit = []
    for level in (0, 1, 2):
        model = PeerLearningModel(
            small("peer_only", size=20_000, steps=6, program__connectivity=level, program__agency=2,
                  population__community_size=50), seed=4,
        )
        model.run()
        misfit.append(model.metrics_frame()["mean_partner_misfit"].iloc[1:].mean())
    assert misfit[0] > misfit[1] > misfit[2], misfit


def test_lower_agency_gives_more_dropout():
    """Retention rises with each agency level (faster motivation decay, no choice of partner)."""
    retention = []
    for level in (0, 1, 2):
        scenario = small("peer_only", size=20_000, steps=20, program__agency=level)
        model = PeerLearningModel(scenario, seed=5)
        model.run()
        retention.append(model.metrics["active_fraction"])
    assert retention[0] < retention[1] < retention[2], retention


def test_arrivals_grow_the_population_at_the_bottom():
    """New novices arrive at the configured rate into reserved slots, starting at the bottom."""
    sc = small("peer_only", size=10_000, steps=5, population__arrival_rate=0.02)
    model = PeerLearningModel(sc, seed=6)
    before = model.metrics["band_0"]
    model.run()
    assert model.metrics["present"] == 10_000 + 5 * 200
    assert model.arrivals == 1000
    assert model.metrics["band_0"] > 0 and before > 0
