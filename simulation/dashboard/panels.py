"""The dashboard's panels: what each figure shows, declared once for one model or a comparison.

Every panel reads the model's aggregates only (`model.metrics` for this week, the DataCollector's
columns for the weeks so far), never the agent arrays, so redrawing costs the same at 2,000 and
at 10^6 agents. How a panel is drawn (kept axes, blitting, legends outside the data) is in
charts.py; which panels a structure shows is its `dashboard_panels` in the registry
(simulation/structures/), so a new structure chooses its panels without a change here.

Axis limits come from what the scenario implies, so they hold for the whole run and do not
rescale from one run to the next: shares and skill from 0 to 1, weekly gains up to the most a
tutee or tutor can gain from a peer in a week (learning.peer_rate, or tutor_rate times
teaching_expectancy; docs/ODD.md 7.5), expert load up to a mentor's capacity or a class's size.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import PeerLearningModel
from ..structures import get
from .charts import Band, LinePanel, PyramidPanel, Reference, Series, nice_ceiling

TUTEE, TUTOR, SKILL, SHARE, EXPERT = "#1f77b4", "#ff7f0e", "#2a7f62", "#9467bd", "#8c564b"
GROUPS, COLLAPSE, EVERYONE = "#17becf", "#d62728", "#333333"


# ----------------------------------------------------------------------------------------------
# Which models have what


def has_experts(model: PeerLearningModel) -> bool:
    """Whether the model has designated experts (a structure with experts may be given none)."""
    return model.arrangement.count > 0


def has_groups(model: PeerLearningModel) -> bool:
    """Whether the model's structure reports study-group metrics."""
    return "group_survival" in model.structure.metrics


def solo(model: PeerLearningModel) -> bool:
    """A study-group run in solo mode: the same registrants, no group ever meets."""
    return has_groups(model) and model.scenario.study_groups.mode == "solo"


def _no_experts(model: PeerLearningModel) -> str:
    if has_experts(model):
        return ""
    return f"{model.scenario.program.structure}: no designated experts"


def _no_groups(model: PeerLearningModel) -> str:
    if not has_groups(model):
        return f"{model.scenario.program.structure}: no study groups"
    return ""


def _no_leaders(model: PeerLearningModel) -> str:
    if _no_groups(model):
        return _no_groups(model)
    return "solo: no groups meet, nobody leads" if solo(model) else ""


# ----------------------------------------------------------------------------------------------
# The panels


def _skill_series(model: PeerLearningModel) -> tuple[Series, ...]:
    competent = model.scenario.metrics.competent
    return (
        Series("mean_skill", "mean skill", SKILL),
        Series("competent_fraction", f"competent share (skill ≥ {competent:g})", SHARE),
    )


def _skill_band(model: PeerLearningModel) -> Band:
    return Band("skill_q25", "skill_q75", "middle half of skills (q25–q75)", SKILL)


def _gain_series(model: PeerLearningModel) -> tuple[Series, ...]:
    return (
        Series("mean_gain", "everyone present (all sources)", EVERYONE, from_week=1),
        Series("mean_tutee_gain", "tutees (from a peer)", TUTEE, from_week=1),
        Series("mean_tutor_gain", "tutors (by teaching)", TUTOR, from_week=1, in_comparison=False),
    )


def _gain_limits(models: Sequence[PeerLearningModel]) -> tuple[float, float]:
    bound = max(
        max(m.scenario.learning.peer_rate,
            m.scenario.learning.tutor_rate * m.scenario.learning.teaching_expectancy)
        for m in models
    )
    return 0.0, nice_ceiling(bound)


def _gain_note(model: PeerLearningModel) -> str:
    if not model.structure.peers and model.structure.experts:
        return f"{model.structure.name}: no peer tutoring\n(learners gain from experts only)"
    if solo(model):
        return "solo: no group sessions\n(learners gain from the course material only)"
    return ""


def _load_series(model: PeerLearningModel) -> tuple[Series, ...]:
    return (Series("expert_load", "learners reached per expert", EXPERT, from_week=1),)


def _load_bound(model: PeerLearningModel) -> float:
    """The most learners one expert can reach in a week: a mentor's capacity, or a class."""
    if model.scenario.expert_format == "mentoring":
        return float(model.scenario.experts.capacity)
    return float(-(-model.population.capacity // model.arrangement.count))


def _load_limits(models: Sequence[PeerLearningModel]) -> tuple[float, float]:
    bounds = [_load_bound(m) for m in models if has_experts(m)]
    return 0.0, nice_ceiling(max(bounds, default=1.0) * 1.05)


def _capacity(model: PeerLearningModel) -> tuple[Reference, ...]:
    if has_experts(model) and model.scenario.expert_format == "mentoring":
        return (Reference("y", model.scenario.experts.capacity, "mentoring capacity"),)
    return ()


def _expert_gain_series(model: PeerLearningModel) -> tuple[Series, ...]:
    return (Series("gain_per_expert_hour", "skill gained per expert hour", EXPERT, from_week=1),)


def _course_end(model: PeerLearningModel) -> tuple[Reference, ...]:
    """A line at the course's last week, when the run goes on after it."""
    if not has_groups(model):
        return ()
    end = model.scenario.study_groups.course_weeks
    if end < model.scenario.run.steps:
        return (Reference("x", end, "end of the course"),)
    return ()


def _completion_series(model: PeerLearningModel) -> tuple[Series, ...]:
    goal = model.scenario.study_groups.goal
    completed = Series("completion", f"completed (course progress ≥ {goal:g})", SKILL)
    if solo(model):
        return (completed,)
    return (completed, Series("group_survival", "groups still meeting", GROUPS))


def _leadership_series(model: PeerLearningModel) -> tuple[Series, ...]:
    collapse = "groups dissolved with their organiser"
    if model.scenario.study_groups.mode != "organiser_led":
        collapse += " (organiser_led only)"
    return (
        # Week 0 is registration: no session yet, so no leadership to spread.
        Series("leadership_gini", "leadership Gini (0 = all lead equally)", TUTOR, from_week=1),
        Series("organiser_collapse_fraction", collapse, COLLAPSE),
    )


def _shares(models: Sequence[PeerLearningModel]) -> tuple[float, float]:
    return 0.0, 1.04  # a little room above 1, so a share of 100% is not drawn on the frame


def _expert_gain_limits(models: Sequence[PeerLearningModel]) -> tuple[float, float]:
    # No bound follows from the scenario (it depends on class sizes and reach): the axis starts
    # at 1 and grows, in round steps, with the first week's data if they exceed it.
    return 0.0, 1.0


PANELS = {
    panel.name: panel
    for panel in (
        PyramidPanel("pyramid", "Expertise pyramid"),
        LinePanel(
            "skill", "Mean skill and competent share", "skill (0–1) or share of active",
            _skill_series, _shares, band=_skill_band,
        ),
        LinePanel(
            "retention", "Retention: learners still active", "share of learners active",
            lambda m: (Series("active_fraction", "active share (not dropped out)", SKILL),),
            _shares,
        ),
        LinePanel(
            "gains", "Skill gained per week", "mean gain (skill/week)", _gain_series,
            _gain_limits, grow=True, note=_gain_note,
        ),
        LinePanel(
            "expert_load", "Expert load", "learners per expert per week", _load_series,
            _load_limits, grow=True, absent=_no_experts, references=_capacity,
            comparison_scale="log",
        ),
        LinePanel(
            "expert_gain", "Gain per expert hour", "skill gained per expert hour",
            _expert_gain_series, _expert_gain_limits, grow=True, absent=_no_experts,
            comparison_scale="log",
        ),
        LinePanel(
            "completion", "Course completion and groups still meeting",
            "share of registrants or groups", _completion_series, _shares, absent=_no_groups,
            references=_course_end,
        ),
        LinePanel(
            "leadership", "Leadership spread and organiser collapse", "Gini or share of groups",
            _leadership_series, _shares, absent=_no_leaders, references=_course_end,
        ),
    )
}


def panels_for(structure: str) -> tuple[LinePanel | PyramidPanel, ...]:
    """The panels the page shows for a structure, in its declared order."""
    return tuple(PANELS[name] for name in get(structure).dashboard_panels)


def panels_for_all(structures: Sequence[str]) -> tuple[LinePanel | PyramidPanel, ...]:
    """The panels of a comparison: every panel any of the structures shows, in first-seen order."""
    names: list[str] = []
    for structure in structures:
        names += [n for n in get(structure).dashboard_panels if n not in names]
    return tuple(PANELS[name] for name in names)
