"""The dashboard's panels: one matplotlib figure per quantity the model observes each week.

Every panel reads the model's aggregates only (`model.metrics` for this week, the DataCollector's
lists for the weeks so far), never the agent arrays, so redrawing costs the same at 2,000 and at
10^6 agents. Figures are matplotlib `Figure` objects, not pyplot: they hold no global state, so
sessions redrawing at the same time do not interfere, and they render offline (Altair charts need
vega files from a CDN).

Which panels show depends on the structure of the model on screen (`panels_for`): study groups
have no designated experts, so their completion and leadership panels take the places of the two
expert panels. The page holds a fixed number of panel places (`COMPONENTS`, one per place), each
showing the panel of its rank for the current model, so the layout stays the same when Reset
changes the structure.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import solara
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mesa.visualization.utils import update_counter

from ..model import PeerLearningModel
from ..structures import all_structures, get

# About 560 x 330 px: two panels side by side fill a laptop screen beside the sidebar.
FIGSIZE = (6.2, 3.6)
DPI = 90
TUTEE, TUTOR, SKILL, SHARE, EXPERT = "#1f77b4", "#ff7f0e", "#2a7f62", "#9467bd", "#8c564b"
GROUPS, COLLAPSE = "#17becf", "#d62728"


def weeks(model: PeerLearningModel) -> np.ndarray:
    """The weeks recorded so far (0 is the initial state)."""
    return np.asarray(model.datacollector.model_vars["step"], dtype=float)


def series(model: PeerLearningModel, name: str) -> np.ndarray:
    """One aggregate over the weeks recorded so far."""
    return np.asarray(model.datacollector.model_vars[name], dtype=float)


def _figure(left: float = 0.12) -> tuple[Figure, Axes]:
    # Fixed margins rather than layout="constrained": the panels share one layout, and the
    # constrained solver would double the time of each redraw (about 40 ms a figure).
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.subplots_adjust(left=left, right=0.97, bottom=0.14, top=0.91)
    return fig, fig.add_subplot()


def _time_axis(ax: Axes, model: PeerLearningModel) -> None:
    ax.set_xlabel("week")
    # A little room either side, so the first and the latest week are not cut at the frame.
    ax.set_xlim(-0.3, max(1, model.steps) + 0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def _note(ax: Axes, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color="0.35",
        wrap=True,
    )


# ----------------------------------------------------------------------------------------------
# Figures (plain functions: tested and benchmarked without a browser)


def pyramid_figure(model: PeerLearningModel) -> Figure:
    """The expertise pyramid: active learners per skill band, novices at the bottom.

    Bars are centred so the shape reads as a pyramid; the dashed outline is week 0.
    """
    bands = model.scenario.metrics.bands
    counts = np.array([model.metrics[f"band_{k}"] for k in range(bands)], dtype=float)
    initial = np.array(
        [model.datacollector.model_vars[f"band_{k}"][0] for k in range(bands)], dtype=float
    )
    fig, ax = _figure(left=0.15)
    y = np.arange(bands)
    colours = [_band_colour(k, bands) for k in range(bands)]
    ax.barh(y, counts, left=-counts / 2, height=0.86, color=colours, edgecolor="white")
    ax.barh(
        y,
        initial,
        left=-initial / 2,
        height=0.86,
        fill=False,
        edgecolor="0.25",
        linestyle="--",
        linewidth=0.9,
        label="week 0",
    )
    widest = max(counts.max(), initial.max(), 1.0)
    total = counts.sum()
    for k, c in enumerate(counts):
        share = c / total if total else 0.0
        ax.text(
            max(c, initial[k]) / 2 + widest * 0.03,
            k,
            f"{int(c):,} ({share:.0%})",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(-widest * 0.55, widest * 0.95)
    ax.set_xticks([])
    ax.set_yticks(y, [f"{k / bands:g}–{(k + 1) / bands:g}" for k in range(bands)], fontsize=8)
    ax.set_ylabel("skill band (0 novice, 1 frontier)")
    ax.set_xlabel("bar width ∝ active learners in the band (agents)")
    m = model.scenario.metrics
    for threshold, name in ((m.competent, "competent"), (m.expert, "expert")):
        level = threshold * bands - 0.5
        ax.axhline(level, color="0.5", linestyle=":", linewidth=0.8)
        ax.text(-widest * 0.54, level + 0.08, f"{name} ≥ {threshold:g}", fontsize=7, color="0.35")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_title(
        f"Expertise pyramid, week {model.steps}: {int(total):,} active learners", fontsize=10
    )
    return fig


def _band_colour(k: int, bands: int) -> tuple:
    from matplotlib import colormaps

    return colormaps["viridis"](0.9 - 0.75 * k / max(bands - 1, 1))


def skill_figure(model: PeerLearningModel) -> Figure:
    """Mean skill of active learners (with the middle half) and the share who are competent."""
    fig, ax = _figure()
    t = weeks(model)
    ax.fill_between(
        t,
        series(model, "skill_q25"),
        series(model, "skill_q75"),
        color=SKILL,
        alpha=0.18,
        linewidth=0,
        label="middle half of skills (q25–q75)",
    )
    ax.plot(t, series(model, "mean_skill"), color=SKILL, marker=".", label="mean skill")
    competent = model.scenario.metrics.competent
    ax.plot(
        t,
        series(model, "competent_fraction"),
        color=SHARE,
        marker=".",
        label=f"competent share (skill ≥ {competent:g})",
    )
    ax.set_ylim(0, 1)
    ax.set_ylabel("skill (0–1) / share of active")
    _time_axis(ax, model)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title("Mean skill and competent fraction", fontsize=10)
    return fig


def retention_figure(model: PeerLearningModel) -> Figure:
    """Retention: the share of learners present who are still active (not dropped out)."""
    fig, ax = _figure()
    t = weeks(model)
    active = series(model, "active_fraction")
    ax.plot(t, active, color=SKILL, marker=".", label="active fraction")
    ax.fill_between(t, active, 1.0, color="0.6", alpha=0.15, linewidth=0, label="dropped out")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of learners active")
    _time_axis(ax, model)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title(f"Retention: {active[-1]:.1%} of learners active", fontsize=10)
    return fig


def gains_figure(model: PeerLearningModel) -> Figure:
    """Mean weekly gain of tutees (learning from a peer) and tutors (learning by teaching)."""
    fig, ax = _figure()
    t = weeks(model)[1:]  # week 0 is the initial state: nothing learned yet
    ax.plot(
        t,
        series(model, "mean_tutee_gain")[1:],
        color=TUTEE,
        marker=".",
        label="tutees (learning from a peer)",
    )
    ax.plot(
        t,
        series(model, "mean_tutor_gain")[1:],
        color=TUTOR,
        marker=".",
        label="tutors (learning by teaching)",
    )
    ax.set_ylabel("mean gain (skill/week)")
    ax.set_ylim(bottom=0)
    _time_axis(ax, model)
    if not model.structure.peers and model.structure.experts:
        _note(ax, f"{model.structure.name}: no peer tutoring\n(learners gain from experts only)")
    elif _solo(model):
        _note(ax, "solo: no group sessions\n(learners gain from the course material only)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title("Peer learning gains: tutees vs tutors", fontsize=10)
    return fig


def expert_load_figure(model: PeerLearningModel) -> Figure:
    """Expert load: learners reached per designated expert each week."""
    fig, ax = _figure()
    ax.set_title("Expert load", fontsize=10)
    _time_axis(ax, model)
    if model.arrangement.count == 0:
        _note(ax, f"{model.scenario.program.structure}: no designated experts")
        ax.set_yticks([])
        return fig
    t = weeks(model)[1:]
    ax.plot(
        t,
        series(model, "expert_load")[1:],
        color=EXPERT,
        marker=".",
        label="learners reached per expert",
    )
    if model.scenario.expert_format == "mentoring":
        ax.axhline(
            model.scenario.experts.capacity,
            color="0.4",
            linestyle="--",
            linewidth=0.9,
            label="mentoring capacity",
        )
    ax.set_ylim(bottom=0)
    ax.set_ylabel("learners per expert per week")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(
        f"Expert load: {model.arrangement.count:,} experts, {model.scenario.expert_format}",
        fontsize=10,
    )
    return fig


def expert_gain_figure(model: PeerLearningModel) -> Figure:
    """Skill gained by learners per hour of expert time, each week."""
    fig, ax = _figure(left=0.14)
    ax.set_title("Gain per expert hour", fontsize=10)
    _time_axis(ax, model)
    if model.arrangement.count == 0:
        _note(ax, f"{model.scenario.program.structure}: no designated experts")
        ax.set_yticks([])
        return fig
    t = weeks(model)[1:]
    ax.plot(t, series(model, "gain_per_expert_hour")[1:], color=EXPERT, marker=".")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("skill gained per expert hour\n(skill/hour, all learners)")
    return fig


# ----------------------------------------------------------------------------------------------
# Study groups (structures/study_groups.py): the metrics it adds to model.metrics every week


def _solo(model: PeerLearningModel) -> bool:
    """A study_groups run in solo mode: the same registrants, no group ever meets."""
    return _has_groups(model) and model.scenario.study_groups.mode == "solo"


def _has_groups(model: PeerLearningModel) -> bool:
    """Whether the model's structure reports study-group metrics."""
    return "group_survival" in model.structure.metrics


def _no_groups(ax, model: PeerLearningModel) -> bool:
    """Say so, and draw nothing more, when the model has no study groups at all."""
    if not _has_groups(model):
        _note(ax, f"{model.scenario.program.structure}: no study groups")
        ax.set_yticks([])
        return True
    return False


def _course_end(ax, model: PeerLearningModel) -> None:
    """A dotted line at the course's last week, when the run goes on after it."""
    end = model.scenario.study_groups.course_weeks
    if end < model.scenario.run.steps:
        ax.axvline(end, color="0.5", linestyle=":", linewidth=0.9, label="end of the course")


def completion_figure(model: PeerLearningModel) -> Figure:
    """Course completion (registrants active with progress at the goal) and groups still meeting."""
    fig, ax = _figure()
    _time_axis(ax, model)
    ax.set_title("Course completion and groups still meeting", fontsize=10)
    if _no_groups(ax, model):
        return fig
    t = weeks(model)
    goal = model.scenario.study_groups.goal
    completion = series(model, "completion")
    ax.plot(
        t,
        completion,
        color=SKILL,
        marker=".",
        label=f"completed (active, course progress ≥ {goal:g})",
    )
    title = f"Completion {completion[-1]:.1%}"
    if _solo(model):
        _note(ax, "solo: no groups meet")
    else:
        survival = series(model, "group_survival")
        ax.plot(t, survival, color=GROUPS, marker=".", label="groups still meeting (survival)")
        title += f"; {survival[-1]:.0%} of groups still meeting"
    _course_end(ax, model)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of registrants / of groups")
    ax.legend(loc="upper left" if _solo(model) else "center left", fontsize=8, frameon=False)
    ax.set_title(f"{title}, week {model.steps}", fontsize=10)
    return fig


def leadership_figure(model: PeerLearningModel) -> Figure:
    """Leadership spread (Gini of sessions led) and groups dissolved with their organiser."""
    fig, ax = _figure()
    _time_axis(ax, model)
    ax.set_title("Leadership spread and organiser collapse", fontsize=10)
    if _no_groups(ax, model):
        return fig
    mode = model.scenario.study_groups.mode
    if mode == "solo":
        _note(ax, "solo: no groups meet, nobody leads")
        ax.set_yticks([])
        return fig
    t = weeks(model)
    gini = series(model, "leadership_gini")
    collapse = series(model, "organiser_collapse_fraction")
    # Week 0 is registration: no session yet, so no leadership to spread.
    ax.plot(
        t[1:], gini[1:], color=TUTOR, marker=".", label="leadership Gini (0 = all lead equally)"
    )
    ax.plot(
        t,
        collapse,
        color=COLLAPSE,
        marker=".",
        label="groups dissolved with their organiser"
        + (" (organiser_led only)" if mode != "organiser_led" else ""),
    )
    _course_end(ax, model)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("Gini / share of groups")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_title(
        f"{mode}: leadership Gini {gini[-1]:.2f}, organiser collapse {collapse[-1]:.0%}",
        fontsize=10,
    )
    return fig


# ----------------------------------------------------------------------------------------------
# Which panels a model shows


@dataclass(frozen=True)
class Panel:
    """A figure of the dashboard and the function that draws it."""

    name: str
    draw: Callable[[PeerLearningModel], Figure]


# Every panel; each structure declares which it shows, in page order (its `dashboard_panels`).
# Study groups run their own kernel, without experts: their group panels take the expert panels'
# places.
PANELS = {
    panel.name: panel
    for panel in (
        Panel("pyramid", pyramid_figure),
        Panel("skill", skill_figure),
        Panel("retention", retention_figure),
        Panel("gains", gains_figure),
        Panel("expert_load", expert_load_figure),
        Panel("expert_gain", expert_gain_figure),
        Panel("completion", completion_figure),
        Panel("leadership", leadership_figure),
    )
}


def panels_for(structure: str) -> tuple[Panel, ...]:
    """The panels the page shows for a structure, in order."""
    return tuple(PANELS[name] for name in get(structure).dashboard_panels)


# Places on the page: as many as the structure with the most panels needs.
PLACES = max(len(s.dashboard_panels) for s in all_structures())


def render_png(figure: Figure) -> bytes:
    """The PNG the browser receives for a figure."""
    buffer = io.BytesIO()
    # Light compression: a quarter of the redraw time went into zlib at its default level 6,
    # for images that only travel to a browser on the same machine or network.
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------
# Solara components for Mesa's SolaraViz


def _component(place: int):
    @solara.component
    def PanelView(model: PeerLearningModel):
        update_counter.get()  # Mesa bumps this after each step and reset: redraw then
        shown = panels_for(model.scenario.program.structure)
        panel = shown[place] if place < len(shown) else None
        # A new model (Reset) or week redraws the place, which may then hold another panel.
        png = solara.use_memo(
            lambda: render_png(panel.draw(model)) if panel else b"", [model, model.steps]
        )
        if panel is not None:
            solara.Image(png, format="png", classes=[f"peerscale-panel-{panel.name}"])

    PanelView.__name__ = PanelView.__qualname__ = f"PanelPlace{place + 1}"
    return PanelView


COMPONENTS = [_component(place) for place in range(PLACES)]
