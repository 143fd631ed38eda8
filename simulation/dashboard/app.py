"""The dashboard page: Mesa's SolaraViz over this session's PeerLearningModel.

Run with `peerscale dashboard` or `solara run simulation/dashboard/app.py`. Mesa examples write
`page = SolaraViz(model, ...)` with one model built at import, which every browser session would
share; here `Page` wraps SolaraViz and hands it the session's own model (session.py), so each
session steps, plays and resets its own run.

The sidebar holds the starting point (a scenario file), Mesa's Reset / Play / Step buttons and the
controls generated from the scenario schema (controls.py). Above the figures: what the model
shown is, and the latest input that could not be applied.
"""

from __future__ import annotations

# Absolute imports: `solara run simulation/dashboard/app.py` executes this file as a script. The
# package comes first: it imports Mesa's visualization without a spurious hook warning.
from simulation.dashboard import controls, panels, session  # isort: skip
from simulation.config.schema import LEVEL_NAMES  # isort: skip

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

TITLE = "PeerScale: peer learning in an expertise pyramid"


def summary(model: session.DashboardModel) -> str:
    """One line saying which scenario the model on screen runs and how far it has got."""
    sc = model.scenario
    p = sc.program
    levels = ", ".join(
        f"{name} {getattr(p, name)} {LEVEL_NAMES[name][getattr(p, name)]}" for name in LEVEL_NAMES
    )
    if "study_groups" in model.structure.sections:  # groups, led by members; no experts
        g = sc.study_groups
        teachers = (
            f"{g.mode}: no groups" if g.mode == "solo" else f"{g.mode} groups of {g.group_size}"
        )
    elif model.arrangement.count:
        teachers = f"{model.arrangement.count:,} experts ({sc.expert_format})"
    else:
        teachers = "no experts"
    return (
        f"{p.structure} from {model.scenario_file}: {sc.population.size:,} learners; {levels}; "
        f"optimal gap {sc.learning.optimal_gap:g}; {teachers}; seed {model.seed}. "
        f"Week {model.steps} of {sc.run.steps}."
    )


@solara.component
def ModelSummary(model: session.DashboardModel):
    """What the figures show, and why the last input was not applied if it was not."""
    update_counter.get()  # Mesa bumps this after each step: the week changes
    solara.Text(summary(model), classes=["peerscale-summary"])
    if session.message.value:
        solara.Error(
            f"Not applied: {session.message.value}. The figures still show the last valid model.",
            classes=["peerscale-message"],
        )


def _load_starting_point(name: str) -> None:
    """The file menu's handler: a refused file keeps the model and shows why (session.message)."""
    session.choose_starting_point(name)


@solara.component
def StartingPoint():
    """The scenario files of `scenarios/` (listed anew on each render) to start from."""
    with solara.Card("Starting point"):
        solara.Select(
            "Scenario file",
            values=controls.starting_points(),
            value=session.starting_point.value,
            on_value=_load_starting_point,
            classes=["peerscale-starting-point"],
        )
        solara.Text(
            "Loads the file into the controls below and rebuilds the model.",
            style={"font-size": "0.8em"},
        )


@solara.component
def Page():
    """The dashboard of one browser session."""
    solara.Title("PeerScale dashboard")
    start = session.starting_point.value
    params = solara.use_memo(lambda: controls.model_params(start), [start])
    # The starting point whose controls SolaraViz shows. Choosing a file must remount SolaraViz:
    # Mesa reads a control's value into the parameters Reset uses once, when its sidebar mounts.
    # A key alone does not do it: the sidebar is a portal placed by position, so the old controls
    # would stay mounted, showing the file's values while Reset still used the old ones (or none).
    # One render without SolaraViz takes its sidebar away; the next mounts it afresh.
    shown, set_shown = solara.use_state(start)
    solara.use_effect(lambda: set_shown(start), [start])
    with solara.Sidebar():
        StartingPoint()
    ModelSummary(session.model.value)
    if shown == start:
        SolaraViz(session.model, components=panels.COMPONENTS, model_params=params, name=TITLE).key(
            f"start:{start}"
        )
