"""study_groups: small groups taking one course together, organiser-led or rotating (or solo).

The rules and their sources are in the kernel's docstring (kernels/study_groups.py) and in
docs/study_groups.md; this module declares the structure and runs its weekly kernel: forming the
groups, pitching the course at the registrants' mean skill, and the weekly study-group metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.aggregates import declared, without_cohort
from ..core.blocks import N_ACTIVE, SUM_SKILL
from ..core.counter_rng import STREAM_GROUPS, STREAM_STEP, key_for
from ..core.efficacy import EFFICACY_TABLE
from ..core.encoding import ACTIVE
from ..kernels.bundles import BlockSums, agent_state, communities, fields
from ..kernels.study_groups import (
    GS_ACTIVE,
    GS_COMPLETED,
    GS_DISSOLVED_ORGANISER,
    GS_IN_GROUP,
    GS_MEETING,
    GS_N_GINI,
    GS_N_MEMBER,
    GS_N_ORGANISER,
    GS_ORGANISER_ACTIVE,
    GS_PLANNED,
    GS_PREPARATION_HOURS,
    GS_REGISTRANTS,
    GS_SUM_GINI,
    GS_SUM_MEMBER_GAIN,
    GS_SUM_NET_GAIN,
    GS_SUM_ORGANISER_GAIN,
    GS_SUM_PROGRESS,
    MODES,
    N_GROUP_STATS,
    ORGANISER_CHOICES,
    PROGRESS_SCALE,
    GroupRules,
    Groups,
    community_groups,
    course_week,
    course_week_of,
    form_groups,
)
from .base import EngineState, FigurePanel, Layout, Structure
from .expert_arrangement import ExpertArrangement
from .peer_learning import observe_cohort, summarise, week_metrics

if TYPE_CHECKING:
    from ..config.schema import Scenario
    from ..core.population import Population

# Reported every week for study_groups runs, after core.aggregates.METRICS and the bands.
METRICS = {
    "group_survival": "planned groups still meeting (not dissolved); 0 in solo mode",
    "organiser_collapse_fraction": "planned groups dissolved because their organiser dropped out",
    "in_group_fraction": "active learners whose group still meets",
    "completion": "registrants active now whose course progress reached the goal",
    "mean_progress": "course progress per registrant (skill gained through the course)",
    "skill_gain": "net skill change per registrant since the start (forgetting included)",
    "organiser_gain": (
        "net skill change of organisers (rotating: first leaders; solo: the same learners)"
    ),
    "member_gain": "net skill change of the other group members",
    "organiser_active_fraction": "organisers still active",
    "leadership_gini": (
        "mean over meeting groups of the Gini of sessions led by active members (0 = even)"
    ),
    "preparation_hours": "hours of session preparation this week per planned group",
    "preparation_hours_total": "hours of session preparation this week, all groups together "
    "(a cost: analysis.runner.COST_HOURS)",
}
METRIC_NAMES = tuple(METRICS)

# Memory (docs/performance.md): sessions led (uint8) and course progress (uint16) per slot; state,
# organiser, rotation and last week's drop-outs (uint8) per group; the first group of each
# community (int64).
BYTES_PER_SLOT = 1 + 2
BYTES_PER_GROUP = 4


def group_rules(scenario: Scenario, course_pitch: float) -> GroupRules:
    """Resolve the scenario into the group kernel's scalar rules."""
    sg, prog, learn = scenario.study_groups, scenario.program, scenario.learning
    mot, lev = scenario.motivation, scenario.levels
    return GroupRules(
        mode=MODES[sg.mode],
        min_group_size=int(sg.min_group_size),
        course_weeks=int(sg.course_weeks),
        goal_code=goal_code(scenario),
        optimal_gap=float(learn.optimal_gap),
        peer_rate=float(learn.peer_rate),
        tutor_rate=float(learn.tutor_rate),
        teaching_expectancy=float(learn.teaching_expectancy),
        course_rate=float(sg.course_rate),
        course_pitch=float(course_pitch),
        responsiveness=int(prog.responsiveness),
        module_spacing=float(lev.module_spacing),
        preparation_narrowing=float(sg.preparation_narrowing),
        organiser_preparation_gain=float(sg.organiser_preparation_gain),
        organiser_preparation_cost=float(sg.organiser_preparation_cost),
        organiser_preparation_hours=float(sg.organiser_preparation_hours),
        session_preparation_gain=float(sg.session_preparation_gain),
        session_preparation_cost=float(sg.session_preparation_cost),
        session_preparation_hours=float(sg.session_preparation_hours),
        facilitation_load=float(sg.facilitation_load),
        social_support=float(sg.social_support),
        collapse_motivation_loss=float(sg.collapse_motivation_loss),
        dropout_contagion=float(sg.dropout_contagion),
        forgetting=float(learn.forgetting),
        motivation_decay=float(lev.agency_decay[prog.agency]),
        progress_reward=float(mot.progress_reward),
        no_contact_penalty=float(mot.no_contact_penalty),
        shock=float(mot.shock),
        threshold=float(mot.threshold),
    )


def goal_code(scenario: Scenario) -> int:
    """The completion goal in course-progress units (1/65535 skill)."""
    return int(np.ceil(scenario.study_groups.goal * PROGRESS_SCALE - 1e-9))


class StudyGroupEngine(EngineState):
    """The study groups of one population: their compact state, weekly kernel and metrics.

    Forming the groups and recording week 0 (the state at registration, from which the course
    is pitched at the registrants' mean skill) happen on creation. `STATE` names what carries
    over from week to week (checkpoints); the group layout follows from the population's.
    """

    STATE = (
        "group_state", "group_organiser", "group_rotation", "group_dropped", "sessions_led",
        "progress",
        "group_stats", "_net_gain", "course_pitch",
    )

    def __init__(self, population: Population, scenario: Scenario, seed: int, blocks: np.ndarray,
                 stats: np.ndarray, histogram: np.ndarray):
        pop, sg = population, scenario.study_groups
        self.population, self.scenario, self.seed = population, scenario, int(seed)
        self.blocks, self.stats, self.histogram = blocks, stats, histogram
        # No designated experts (the expert metrics report zeros).
        self.arrangement = ExpertArrangement.for_scenario(scenario, pop.capacity)
        self.community_group_start = community_groups(pop.community_initial, sg.group_size)
        groups = int(self.community_group_start[-1])
        self.group_state = np.zeros(groups, dtype=np.uint8)
        self.group_organiser = np.zeros(groups, dtype=np.uint8)
        self.group_rotation = np.zeros(groups, dtype=np.uint8)
        self.group_dropped = np.zeros(groups, dtype=np.uint8)
        self.sessions_led = np.zeros(pop.capacity, dtype=np.uint8)
        self.progress = np.zeros(pop.capacity, dtype=np.uint16)
        self.group_stats = np.zeros((blocks.size - 1, N_GROUP_STATS))
        self.group_arrays = Groups(self.community_group_start, self.group_state,
                                   self.group_organiser, self.group_rotation, self.sessions_led,
                                   self.progress, self.group_stats, self.group_dropped)
        form_groups(
            fields(agent_state(pop)), fields(communities(pop, blocks)), fields(self.group_arrays),
            key_for(self.seed, STREAM_GROUPS, 0), MODES[sg.mode], sg.min_group_size,
            ORGANISER_CHOICES[sg.organiser],
        )
        self._net_gain = np.zeros(3)  # cumulative sums: all registrants, organisers, members
        self.rules = group_rules(scenario, 0.0)
        # Weeks whose cohort pass runs (None: every week; base.Engine); week 0 runs here, always.
        self.cohort_weeks: frozenset[int] | None = None
        self.cohort_observed = True
        self._course_week(0)
        # The course is pitched at the registrants' mean skill (block-ordered sum: reproducible).
        active = sum(float(stats[k, N_ACTIVE]) for k in range(stats.shape[0]))
        total = sum(float(stats[k, SUM_SKILL]) for k in range(stats.shape[0]))
        self.course_pitch = total / active if active > 0 else 0.0
        self.rules = group_rules(scenario, self.course_pitch)

    def restored(self) -> None:
        """The kernel's rules follow from the restored course pitch."""
        self.rules = group_rules(self.scenario, self.course_pitch)

    @property
    def groups(self) -> int:
        """Groups the communities are split into (all of them, formed or not)."""
        return int(self.group_state.size)

    def start(self) -> dict[str, Any]:
        """Week 0: the state at registration."""
        summarise(self.population, self.blocks, self.stats, self.histogram)
        self._observe_cohort(0, after_week=False)
        return self.metrics(0)

    def week(self, step: int) -> None:
        """One course week (weeks after the course change nothing)."""
        self._course_week(step)

    def _course_week(self, week_number: int) -> None:
        """Run one course week (week 0 records the starting state); update the cumulative sums."""
        pop = self.population
        week = course_week_of(key_for(self.seed, STREAM_STEP, week_number), week_number, self.rules)
        # Plain tuples: numba types them faster than namedtuples (kernels/bundles.py).
        course_week(fields(agent_state(pop)), fields(communities(pop, self.blocks)),
                    fields(self.group_arrays), fields(week), fields(self.rules), EFFICACY_TABLE,
                    fields(BlockSums(self.stats, self.histogram)))
        self._observe_cohort(week_number, after_week=True)
        s = self._reduced()
        self._net_gain += (s[GS_SUM_NET_GAIN], s[GS_SUM_ORGANISER_GAIN], s[GS_SUM_MEMBER_GAIN])

    def _observe_cohort(self, step: int, after_week: bool) -> None:
        self.cohort_observed = step == 0 or self.cohort_weeks is None or step in self.cohort_weeks
        if self.cohort_observed:
            observe_cohort(self.population, self.blocks, self.stats, self.scenario, self.seed,
                           step, after_week=after_week)

    def _reduced(self) -> np.ndarray:
        s = np.zeros(N_GROUP_STATS)
        for b in range(self.group_stats.shape[0]):  # fixed order: identical on any thread count
            s += self.group_stats[b]
        return s

    def metrics(self, step: int) -> dict[str, Any]:
        """This week's metrics: the common ones (no expert hours), then the study-group METRICS."""
        out = week_metrics(self.scenario, self.arrangement, self.stats, self.histogram, step, 0.0)
        if not self.cohort_observed:
            out = without_cohort(out, self.scenario.metrics.bands)
        out.update(self.group_metrics())
        return out

    def group_metrics(self) -> dict[str, float]:
        """This week's study-group aggregates (METRICS)."""
        s = self._reduced()

        def ratio(a: float, b: float) -> float:
            return float(a / b) if b > 0 else 0.0

        values = {
            "group_survival": ratio(s[GS_MEETING], s[GS_PLANNED]),
            "organiser_collapse_fraction": ratio(s[GS_DISSOLVED_ORGANISER], s[GS_PLANNED]),
            "in_group_fraction": ratio(s[GS_IN_GROUP], s[GS_ACTIVE]),
            "completion": ratio(s[GS_COMPLETED], s[GS_REGISTRANTS]),
            "mean_progress": ratio(s[GS_SUM_PROGRESS], s[GS_REGISTRANTS]),
            "skill_gain": ratio(self._net_gain[0], s[GS_REGISTRANTS]),
            "organiser_gain": ratio(self._net_gain[1], s[GS_N_ORGANISER]),
            "member_gain": ratio(self._net_gain[2], s[GS_N_MEMBER]),
            "organiser_active_fraction": ratio(s[GS_ORGANISER_ACTIVE], s[GS_N_ORGANISER]),
            "leadership_gini": ratio(s[GS_SUM_GINI], s[GS_N_GINI]),
            "preparation_hours": ratio(s[GS_PREPARATION_HOURS], s[GS_PLANNED]),
            "preparation_hours_total": float(s[GS_PREPARATION_HOURS]),
        }
        return declared(values, METRICS, "structures.study_groups")

    def completed(self) -> np.ndarray:
        """Per slot: active and course progress at or above the goal."""
        return ((self.population.flags & ACTIVE) != 0) & (self.progress >= goal_code(self.scenario))


def study_group_memory(scenario: Scenario, layout: Layout) -> dict[str, int]:
    """Bytes of the study groups' own arrays (see BYTES_PER_SLOT and BYTES_PER_GROUP)."""
    group_size = scenario.study_groups.group_size
    groups = layout.communities * max(1, -(-(layout.size // layout.communities + 1) // group_size))
    starts = 8 * (layout.communities + 1)
    return {"study_groups": BYTES_PER_SLOT * layout.slots + BYTES_PER_GROUP * groups + starts}


STRUCTURE = Structure(
    name="study_groups",
    label=(
        "small study groups take one course together: organiser-led, rotating leadership, or solo"
    ),
    engine=StudyGroupEngine,
    peers=False,
    experts=False,
    sections=("study_groups",),
    metrics=METRICS,
    summary_rows={
        "completion": "completion (active and reached the goal)",
        "group_survival": "groups still meeting",
        "leadership_gini": "leadership Gini (0 = shared evenly)",
    },
    figure_panels=(
        FigurePanel("group_survival", "Study groups still meeting", "fraction of groups"),
        FigurePanel("completion", "Course completion", "fraction of registrants"),
        FigurePanel(
            "leadership_gini", "Hierarchy: who leads sessions", "Gini of sessions led (0 = even)"
        ),
        FigurePanel(
            "organiser_gain", "Skill gained: organiser vs members",
            "skill since the start (solid organiser, dashed members)", companion="member_gain",
        ),
    ),
    dashboard_panels=("pyramid", "skill", "retention", "gains", "completion", "leadership"),
    completion_rule="course progress >= study_groups.goal",
    shardable=False,
    memory=study_group_memory,
    order=40,
)
