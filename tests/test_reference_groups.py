"""The study-group kernel against its plain one-mesa.Agent-per-learner reference."""

import numpy as np
import pytest

from simulation import PeerLearningModel, load
from simulation.core.encoding import ACTIVE, WAS_TUTEE, WAS_TUTOR
from simulation.kernels import study_groups as SG
from simulation.reference.study_groups import (
    DISSOLVED_ORGANISER,
    DISSOLVED_SMALL,
    MEETING,
    NOT_FORMED,
    SOLO,
    ReferenceGroupsModel,
)

from .helpers import SCENARIOS

SIZE, WEEKS, SEED = 2000, 10, 5  # an 8-week course, then two weeks in which nothing changes
STATE_NAMES = {  # the kernel's group states, by the reference's names
    SG.GROUP_NOT_FORMED: NOT_FORMED,
    SG.GROUP_MEETING: MEETING,
    SG.GROUP_DISSOLVED_ORGANISER: DISSOLVED_ORGANISER,
    SG.GROUP_DISSOLVED_SMALL: DISSOLVED_SMALL,
    SG.GROUP_SOLO: SOLO,
}
COUNTED = (  # ratios of whole numbers, or counts: equal exactly
    "active", "dropouts", "competent_fraction", "tutee_fraction", "tutor_fraction",
    "group_survival", "organiser_collapse_fraction", "in_group_fraction", "completion",
    "organiser_active_fraction",
)
SUMMED = (  # float sums that the kernel adds by blocks and the reference in slot order
    "mean_skill", "mean_motivation", "mean_gain", "mean_tutee_gain", "mean_tutor_gain",
    "mean_partner_efficacy", "mean_partner_misfit", "mean_progress", "skill_gain",
    "organiser_gain", "member_gain", "preparation_hours", "leadership_gini",
    "preparation_hours_total", "itt_mean_skill", "itt_gain", "itt_competent_fraction",
)
CASES = {
    # the shipped course scenarios, as they are
    "solo": ("solo_online", {}),
    "organiser_led": ("study_groups_organiser", {}),
    "rotating": ("study_groups_rotating", {}),
    # a heavier load and collapse, groups that do not form, members not enrolled, uneven groups,
    # the calibrated and diagnostic course levels, and random organisers
    "organiser_led, random organiser, heavy load": ("study_groups_organiser", {
        "study_groups.organiser": "random", "study_groups.facilitation_load": 0.08,
        "study_groups.group_size": 7, "population.community_size": 90,
        "learning.participation": 0.7,
        "program.responsiveness": 1, "program.agency": 1,
    }),
    "rotating, random organiser": ("study_groups_rotating", {
        "study_groups.organiser": "random", "study_groups.min_group_size": 4,
        "study_groups.group_size": 5, "learning.participation": 0.85,
        "program.responsiveness": 2, "study_groups.course_weeks": 6,
    }),
    "solo, calibrated course": ("solo_online", {
        "program.responsiveness": 1, "learning.participation": 0.6,
    }),
    # drop-out that spreads, in both group modes; and a leader teaching without expectancy
    "rotating, drop-out contagion": ("study_groups_rotating", {
        "study_groups.dropout_contagion": 0.04, "learning.participation": 0.9,
    }),
    "organiser_led, drop-out contagion, no expectancy": ("study_groups_organiser", {
        "study_groups.dropout_contagion": 0.06, "learning.teaching_expectancy": 0.0,
    }),
}


def side_by_side(name: str) -> tuple[PeerLearningModel, ReferenceGroupsModel]:
    """The kernel and the reference on one case, before their first week."""
    file, changes = CASES[name]
    sc = load(SCENARIOS / f"{file}.toml", {"population.size": SIZE, "run.steps": WEEKS, **changes})
    return PeerLearningModel(sc, seed=SEED), ReferenceGroupsModel(sc, seed=SEED)


def assert_same_week(kernel: PeerLearningModel, reference: ReferenceGroupsModel, week: int) -> None:
    """Every learner's state bit for bit, the groups' state exactly, the metrics as documented."""
    pop, groups, n = kernel.population, kernel.engine, SIZE
    where = f"in week {week}"
    flags = pop.flags[:n]
    learners = [reference.by_slot[s] for s in range(n)]
    assert np.array_equal(pop.skill[:n], reference.skills()), f"skill {where}"
    assert np.array_equal(pop.motivation[:n], reference.motivations()), f"motivation {where}"
    assert np.array_equal((flags & ACTIVE) != 0, reference.actives()), f"active {where}"
    assert np.array_equal((flags & WAS_TUTEE) != 0, [x.was_tutee for x in learners]), where
    assert np.array_equal((flags & WAS_TUTOR) != 0, [x.was_tutor for x in learners]), where
    assert np.array_equal(groups.progress[:n], reference.progress_codes()), f"progress {where}"
    assert np.array_equal(groups.sessions_led[:n], reference.sessions_led()), f"sessions {where}"
    states = [STATE_NAMES[int(s)] for s in groups.group_state]
    assert states == reference.group_states(), f"group states {where}"
    ref = reference.history[-1]
    for key in COUNTED:
        assert kernel.metrics[key] == ref[key], f"{key} {where}"
    bands = kernel.scenario.metrics.bands
    for k in range(bands):  # who is left behind, by starting band (kernels/cohort.py)
        for name in ("active_fraction", "gain", "competent_fraction"):
            key = f"start_band_{k}_{name}"
            assert kernel.metrics[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
    for key in SUMMED:
        assert kernel.metrics[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), f"{key} {where}"


@pytest.mark.parametrize("name", list(CASES))
def test_study_group_kernel_reproduces_the_reference_exactly(name):
    """Fed the same seed, the kernel and the reference give identical learners every week.

    Exact equality (np.array_equal, not a tolerance) for skill, motivation, status, course
    progress, sessions led and group states: both draw from the same counter-based hash and do
    each learner's arithmetic in float64 in the same order, rounding skill to float32 at the same
    point, and both sum the course's pitch and a session's fit in the same order. Metrics that
    are counts or ratios of counts are exact too; float sums over the population (including the
    mean of the groups' Gini coefficients) are added by blocks in the kernel and in slot order
    here, so they agree to rounding (rel 1e-9).
    """
    kernel, reference = side_by_side(name)
    assert_same_week(kernel, reference, 0)
    assert np.array_equal(kernel.engine.group_organiser, reference.organiser_offsets())
    for week in range(1, WEEKS + 1):
        kernel.step()
        reference.step()
        assert_same_week(kernel, reference, week)


def test_the_cross_check_sees_drop_outs_collapses_and_random_organisers():
    """The cases above exercise what they claim (the reference alone: it equals the kernel).

    Drop-outs, organisers leaving and collapsing their groups, groups dissolving for lack of
    members, groups that never form, and organisers who are not the most motivated member.
    """
    reference = side_by_side("organiser_led, random organiser, heavy load")[1]
    for _ in range(WEEKS):
        reference.step()
    states = reference.group_states()
    assert sum(week["dropouts"] for week in reference.history) > SIZE // 10
    assert states.count(DISSOLVED_ORGANISER) > 20 and states.count(DISSOLVED_SMALL) > 0
    assert states.count(NOT_FORMED) > 0 and states.count(MEETING) > 20
    assert any(  # at random, some organisers are not their group's most motivated member
        g.organiser.motivation < max(x.motivation for x in g.members if x.enrolled)
        for g in reference.groups if g.planned
    )
    shipped = side_by_side("organiser_led")[1]
    for _ in range(WEEKS):
        shipped.step()
    assert shipped.history[-1]["organiser_collapse_fraction"] > 0.0
    assert shipped.history[-1]["group_survival"] < 1.0
