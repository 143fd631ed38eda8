"""Mesa's SolaraViz over PeerLearningModel: the standard Mesa view of one run.

Run with `peerscale dashboard --mesa` or `solara run simulation/dashboard/mesa_view.py`. The
default page (`peerscale dashboard`, app.py) is built on Solara directly; docs/dashboard.md says
why. This view is what a Mesa user expects: `page = SolaraViz(model, components, model_params)`
with Mesa's own layout and controls (Reset, play / pause, Step, the play and render intervals,
threads, "Step: n"), over one model.

- The controls are SolaraViz's `model_params`, generated from the scenario schema: one for each
  of the dashboard's main controls (controls.MAIN), with its label, menu items and default.
- The figures are the default page's (panels.py, drawn by charts.py, kept on a board.py Board),
  as SolaraViz components: matplotlib figures sent as PNG images, which need nothing from a
  CDN (Mesa's Altair components load vega from one, so they stay blank offline).
- Mesa 3.3 builds the model on Reset as `type(model)(**params)`: DashboardModel takes one
  keyword per control, named by its schema key (`run.seed`), holding the control's text (a box
  gives text, a seed included) or a value. Mesa's Reset has no way to refuse, so a value that is
  not allowed keeps its default, and the run card says so.
- Each browser session has its own model: `model` is a `solara.Reactive` whose value is built
  once per Solara kernel (one per session). A model made at import, as Mesa's examples make
  theirs, would be shared by every person who opens the page.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cached_property
from typing import Any

import solara
from solara.toestand import KernelStoreFactory

# Absolute imports: `solara run simulation/dashboard/mesa_view.py` executes this file as a script.
from simulation.config.schema import Scenario
from simulation.dashboard import controls
from simulation.dashboard.app import Numbers
from simulation.dashboard.board import Board
from simulation.dashboard.warmup import WARMUP
from simulation.model import PeerLearningModel
from simulation.structures import all_structures

with warnings.catch_warnings():
    # Mesa 3.3.1's ComponentsView has a hook after an early return that only matters with no
    # components; solara's hook check reports it once, at import. This view always passes
    # components, so the warning says nothing about it (and would fail tests run with -W error).
    warnings.filterwarnings(
        "ignore", message=r".*ComponentsView: `use_state` found despite early return",
        category=UserWarning,
    )
    from mesa.visualization import SolaraViz

TITLE = "PeerScale (Mesa SolaraViz)"
# The width the figures are drawn for (two columns of 474 px): SolaraViz's grid cells are half
# of its main area, about 490 px beside its sidebar on a 1440 px screen, so text is not shrunk.
FIGURE_AREA = 960
# Keys a DashboardModel accepts: every key the dashboard has a control for.
KEYS = frozenset(c.key for c in controls.all_controls())


class DashboardModel(PeerLearningModel):
    """PeerLearningModel built from what the view's controls hold, as SolaraViz builds it.

    Every keyword is a schema key ('program.agency') with the control's text ('2 active',
    '0.15', '9') or a value; a key left out keeps its schema default. A text that is not allowed
    keeps the default too, and `not_applied` names it and says what is allowed.

    Args:
        **kwargs: schema keys (any key with a dashboard control) and what their controls hold.
    """

    def __init__(self, **kwargs: Any) -> None:
        # `**kwargs` by that name: Mesa's SolaraViz checks the model_params against the names
        # of __init__ and lets any through to a **kwargs; *args would make it refuse the model.
        unknown = sorted(set(kwargs) - KEYS)
        if unknown:
            raise TypeError(
                f"DashboardModel got unexpected keyword argument(s) {', '.join(unknown)} "
                "(schema keys such as 'run.seed' are allowed)"
            )
        texts = {key: "" if v is None else controls.text_of(v) for key, v in kwargs.items()}
        scenario, problems = controls.check_leniently(Scenario(), texts)
        super().__init__(scenario=scenario)
        self.not_applied = controls.headline(problems)  # '' if every control was applied

    @cached_property
    def board(self) -> Board:
        """This model's figures and numbers (drawn for the week it is at by `redraw`)."""
        name = self.scenario.program.structure
        return Board([self.scenario], [name], FIGURE_AREA, models=[self])

    def step(self) -> None:
        """One week, never while this model's figures are drawn.

        With SolaraViz's "Use Threads" the figures are drawn in another thread while Play steps
        on; the board's lock keeps a drawing from reading a week half recorded.
        """
        with self.board.lock:
            super().step()


def model_params() -> dict[str, dict[str, Any]]:
    """SolaraViz's controls: one per main control of the dashboard, from the schema.

    Menus (structure, levels, study-group mode) are Selects of the schema's choices, the rest
    text boxes; each starts at the schema default. A control that some structures only read says
    which (SolaraViz shows every control whatever the structure).
    """
    defaults = controls.texts_of(Scenario())
    structures = all_structures()
    params: dict[str, dict[str, Any]] = {}
    for c in controls.MAIN:
        label = controls.label(c)
        if c.section in controls.structure_sections():
            label += f"; read by {', '.join(controls.readers(c, structures))}"
        if c.kind in ("select", "level"):
            items = controls.options(c)
            shown = next(o["text"] for o in items if o["value"] == defaults[c.key])
            values = [o["text"] for o in items]
            params[c.key] = {"type": "Select", "label": label, "value": shown, "values": values}
        else:
            params[c.key] = {"type": "InputText", "label": label, "value": defaults[c.key]}
    return params


MODEL_PARAMS = model_params()


# ----------------------------------------------------------------------------------------------
# SolaraViz components: plain functions of the model, re-run by SolaraViz after every step


def run_card(model: DashboardModel) -> solara.Element:
    """What runs (the settings in one line, the week), what was not applied, the week's numbers."""
    board = model.board
    board.redraw()
    with solara.Column(classes=["peerscale-run"]) as card:
        solara.Text(
            f"{board.summary(controls.SCHEMA_DEFAULTS)} Week {board.drawn} of {board.last_week}.",
            classes=["peerscale-summary"],
        )
        if model.not_applied:
            solara.Error(f"Not applied, the default used instead: {model.not_applied}",
                         classes=["peerscale-message"])
        Numbers(board, board.drawn)
    return card


def figure_place(place: int) -> Callable[[DashboardModel], solara.Element | None]:
    """The component showing the model's figure number `place` (0: the pyramid).

    SolaraViz's components are fixed when the page is made and Reset may change the structure
    (and so its panels), so each component is a place that shows the panel of its rank.
    """

    def figure(model: DashboardModel) -> solara.Element | None:
        board = model.board
        board.redraw()
        keys = list(board.charts)
        if place >= len(keys):
            return None
        key = keys[place]
        return solara.Image(board.images[key], format="png", classes=[f"peerscale-panel-{key}"])

    figure.__name__ = f"figure_{place + 1}"
    return figure


PLACES = max(len(s.dashboard_panels) for s in all_structures())
COMPONENTS: list[Callable[[DashboardModel], solara.Element | None]] = [
    run_card, *(figure_place(i) for i in range(PLACES))
]


def _session_model() -> DashboardModel:
    """A session's first model: the controls' defaults (once the kernels are compiled)."""
    WARMUP.wait()  # `peerscale dashboard --mesa` compiles them at start (warmup.py)
    return DashboardModel(**{key: spec["value"] for key, spec in MODEL_PARAMS.items()})


# This session's model: built on first use in each session (one value per Solara kernel).
model: solara.Reactive[DashboardModel] = solara.Reactive(
    KernelStoreFactory(_session_model, key="simulation.dashboard.mesa_view.model")
)

page = SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS, name=TITLE)
