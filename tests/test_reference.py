"""The numba kernels against the plain one-mesa.Agent-per-learner reference implementation."""

import numpy as np
import pytest

from simulation import PeerLearningModel
from simulation.reference.peers import ReferenceModel

from .helpers import small

# Who is left behind (kernels/cohort.py): intention to treat, and by starting band (5 bands).
LEFT_BEHIND = (
    "itt_mean_skill", "itt_gain", "itt_competent_fraction",
    *(f"start_band_{k}_{name}" for k in range(5)
      for name in ("active_fraction", "gain", "competent_fraction")),
)

CASES = [
    # structure, responsiveness, agency, connectivity, other settings
    ("peer_only", 1, 1, 1, {}),
    ("peer_only", 2, 2, 2, {}),
    ("peer_only", 0, 0, 0, {}),
    ("expert_only", 0, 0, 0, {}),
    ("expert_only", 2, 1, 1, {}),
    ("mixed", 1, 2, 2, {}),
    ("mixed", 0, 0, 1, {}),
    # A week of teaching without expectancy is practice (no gain, no forgetting, no penalty).
    ("peer_only", 1, 1, 1, {"learning__teaching_expectancy": 0.0}),
    # Split programmes: tutors by starting skill or at random, local only and through the pool.
    ("peer_only", 1, 1, 1, {"learning__roles": "split"}),
    ("mixed", 0, 0, 0, {"learning__roles": "split", "learning__tutor_share": 0.3}),
    ("peer_only", 2, 2, 2, {"learning__roles": "split", "learning__tutor_selection": "random"}),
    # Tutor capacity: matching in priority order, with agency's limits, and with split roles.
    ("peer_only", 1, 1, 0, {"learning__tutor_capacity": 1}),
    ("peer_only", 2, 2, 0, {"learning__tutor_capacity": 3}),
    ("mixed", 0, 0, 0, {"learning__tutor_capacity": 2, "learning__roles": "split"}),
    # Strong tutors (a share of those recruited), alone and with split roles and a capacity.
    ("peer_only", 1, 1, 0, {"learning__strong_tutors": 300}),
    ("peer_only", 2, 2, 0, {"learning__strong_tutors": 500, "learning__strong_tutor_skill": 0.8}),
    ("mixed", 0, 0, 0, {"learning__strong_tutors": 100, "learning__roles": "split",
                        "learning__tutor_capacity": 2}),
    # Tutors met through the pool: their capacity dealt to communities as slots (random pool
    # contacts; the ideal-gap search among the slots), and their quality.
    ("peer_only", 1, 1, 1, {"learning__tutor_capacity": 1}),
    ("peer_only", 0, 0, 1, {"learning__tutor_capacity": 2, "levels__pool_per_community": 4}),
    ("peer_only", 2, 2, 2, {"learning__tutor_capacity": 3, "learning__strong_tutors": 400}),
    ("mixed", 1, 1, 2, {"learning__tutor_capacity": 1, "learning__roles": "split"}),
    ("peer_only", 1, 1, 1, {"learning__strong_tutors": 300}),
    ("peer_only", 2, 2, 2, {"learning__strong_tutors": 500, "learning__strong_tutor_skill": 0.8}),
    # Learning by teaching from the matched tutees only (not the tutor's own choice below).
    ("peer_only", 1, 1, 0, {"learning__tutor_capacity": 2,
                            "learning__teaching_partner": "matched"}),
    ("mixed", 1, 2, 1, {"learning__tutor_capacity": 1, "learning__teaching_partner": "matched"}),
]


def case_id(case: tuple) -> str:
    """A readable id: the structure, the three levels and the other settings."""
    structure, r, a, c, settings = case
    named = (f"{k.split('__')[-1]}={v}" for k, v in settings.items())
    return "-".join([structure, f"{r}{a}{c}", *named])


@pytest.mark.parametrize(
    ("structure", "responsiveness", "agency", "connectivity", "settings"), CASES,
    ids=[case_id(c) for c in CASES],
)
def test_kernels_reproduce_the_reference_implementation_exactly(
    structure, responsiveness, agency, connectivity, settings
):
    """Fed the same random draws, the kernels and the reference give identical agents at 2,000.

    Exact equality (not a confidence interval) is the right test: both draw every random number
    from the same counter-based hash of (seed, stream, step, agent, draw), and both compute each
    agent's update in float64 with the same operations before rounding skill to float32, so any
    difference in a rule (choice, gap, gain, motivation, drop-out) shows up as a mismatch.
    """
    sc = small(
        structure, size=2000, steps=10, program__responsiveness=responsiveness,
        program__agency=agency, program__connectivity=connectivity, experts__count=20,
        learning__participation=0.7, **settings,
    )
    assert_same_as_reference(sc)


def assert_same_as_reference(sc, weeks: int = 10) -> None:
    """The kernels and the reference, fed the same seed, agree every week (see above)."""
    kernel, reference = PeerLearningModel(sc, seed=11), ReferenceModel(sc, seed=11)
    for week in range(weeks):
        kernel.step()
        reference.step()
        pop = kernel.population
        same = np.array_equal(pop.skill[:2000], reference.skills())
        assert same, f"skill differs in week {week + 1}"
        assert np.array_equal(pop.motivation[:2000], reference.motivations())
        assert np.array_equal((pop.flags[:2000] & 2) != 0, reference.actives())
        ref = reference.history[-1]
        for key in ("active", "dropouts", "expert_sessions", "expert_contacts"):
            assert kernel.metrics[key] == ref[key], key
        for key in ("mean_skill", "mean_tutee_gain", "mean_tutor_gain", "mean_partner_efficacy",
                    "competent_fraction", *LEFT_BEHIND):
            assert kernel.metrics[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
    assert kernel.metrics["dropouts"] >= 0


FORMATS = {
    # How experts reach many learners (experts.format), each against the reference.
    "seat-capped classes, most learners unseated": ("expert_only", "class", 0, {}),
    "seat-capped classes, calibrated content": ("expert_only", "class", 1, {
        "experts.class_cap": 45}),
    "every learner seated (cap not binding)": ("expert_only", "class", 2, {
        "experts.count": 100}),
    "the log law, classes of 100": ("expert_only", "class_log_law", 0, {}),
    "a recorded broadcast": ("expert_only", "broadcast", 1, {}),
    "a broadcast beside peers": ("mixed", "broadcast", 0, {"experts.broadcast_input": 0.7}),
    "mentoring without peers": ("expert_only", "mentoring", 1, {}),
    "seat-capped classes beside peers": ("mixed", "class", 1, {}),
    # Hyper-connectivity to experts (levels.expert_contacts): brokered at connectivity 1 (the
    # furthest behind, a domain expert who is no educator), sought at 2 (the most motivated).
    "brokered expert contacts beside peers": ("mixed", "auto", 1, {
        "levels.expert_contacts": (0, 3, 3), "program.connectivity": 1}),
    "sought expert contacts beside peers": ("peer_only", "auto", 1, {
        "levels.expert_contacts": (0, 3, 5), "program.connectivity": 2,
        "experts.domain_teaching_skill": 0.3}),
    "brokered contacts beside seat-capped classes": ("expert_only", "class", 0, {
        "levels.expert_contacts": (4, 4, 4), "program.connectivity": 0}),
}


@pytest.mark.parametrize("case", list(FORMATS))
def test_each_expert_format_reproduces_the_reference_exactly(case):
    """Every way experts reach learners gives the reference's agents bit for bit at 2,000."""
    structure, fmt, responsiveness, changes = FORMATS[case]
    sc = small(
        structure, size=2000, steps=8, program__responsiveness=responsiveness,
        experts__count=20, experts__format=fmt, learning__participation=0.8,
    ).with_overrides(changes)
    assert_same_as_reference(sc, weeks=8)
