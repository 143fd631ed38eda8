"""One browser session of the dashboard: its own model, starting point and input message.

Solara runs one virtual kernel per browser session, and a `solara.Reactive` made at module level
holds one value per kernel. The model lives in such a value, created on first use in each
session, so two people (or two tabs) step their own models; a model built once at import would be
shared by every session.

Mesa's SolaraViz rebuilds the model on Reset as `type(model)(**params)` and has no error path.
DashboardModel therefore checks the controls before building: on bad input it records a one-line
message for the page and hands back the session's current model unchanged, so a typo neither
loses the run on screen nor reaches the server as an exception.
"""

from __future__ import annotations

import contextvars

import solara
from solara.toestand import KernelStoreFactory

from ..config.errors import ScenarioError
from ..config.schema import Scenario
from ..model import PeerLearningModel
from . import controls

# The latest problem with the controls or the starting point in this session ('' if none).
message: solara.Reactive[str] = solara.reactive("")

# The starting point this session's controls were filled from.
starting_point: solara.Reactive[str] = solara.reactive(controls.SCHEMA_DEFAULTS)

# True while a session's first model is built: with no model yet to keep, bad input must raise.
_first_build = contextvars.ContextVar("first_build", default=False)


class DashboardModel(PeerLearningModel):
    """PeerLearningModel built from a starting point (scenario file) and the dashboard controls.

    Every argument is what a control holds: None or a blank text keeps the starting point's
    value, numbers may arrive as text. Bad input keeps the session's current model (see the
    module docstring) and sets `message`; outside a session with a model, it raises.

    Args:
        scenario_file: a file name in the scenario folder, or 'schema defaults'.
        structure: program.structure, one of the schema's structures (e.g. 'peer_only').
        population: population.size, in agents (at most controls.MAX_AGENTS).
        responsiveness: program.responsiveness, a level 0-2 (or '2 diagnostic').
        agency: program.agency, a level 0-2.
        connectivity: program.connectivity, a level 0-2.
        optimal_gap: learning.optimal_gap, the skill gap at which learning peaks.
        experts: experts.count, designated experts.
        weeks: run.steps, the weeks after which the run stops.
        seed: run.seed, the seed of the counter-based random numbers.
        group_mode: study_groups.mode ('organiser_led', 'rotating' or 'solo'); read by the
            study_groups structure only.
        group_size: study_groups.group_size, members per study group at the start.
    """

    def __new__(
        cls,
        scenario_file: str | None = None,
        structure: str | None = None,
        population: int | str | None = None,
        responsiveness: int | str | None = None,
        agency: int | str | None = None,
        connectivity: int | str | None = None,
        optimal_gap: float | str | None = None,
        experts: int | str | None = None,
        weeks: int | str | None = None,
        seed: int | str | None = None,
        group_mode: str | None = None,
        group_size: int | str | None = None,
    ) -> DashboardModel:
        """A new model, or on bad input the session's current one (see the class docstring)."""
        values = {
            "structure": structure,
            "population": population,
            "responsiveness": responsiveness,
            "agency": agency,
            "connectivity": connectivity,
            "optimal_gap": optimal_gap,
            "experts": experts,
            "weeks": weeks,
            "seed": seed,
            "group_mode": group_mode,
            "group_size": group_size,
        }
        try:
            scenario = controls.resolve(scenario_file, **values)
        except ScenarioError as exc:
            # Look the model up first: in a new session that builds its first model.
            kept = None if _first_build.get() else model.value
            message.value = str(exc)
            if kept is None:
                raise
            # Python calls __init__ on whatever __new__ returns; this flag makes it a no-op.
            kept._keep_unchanged = True
            return kept
        built = super().__new__(cls)
        built._resolved = scenario
        return built

    def __init__(
        self,
        scenario_file: str | None = None,
        structure: str | None = None,
        population: int | str | None = None,
        responsiveness: int | str | None = None,
        agency: int | str | None = None,
        connectivity: int | str | None = None,
        optimal_gap: float | str | None = None,
        experts: int | str | None = None,
        weeks: int | str | None = None,
        seed: int | str | None = None,
        group_mode: str | None = None,
        group_size: int | str | None = None,
    ):
        if self.__dict__.pop("_keep_unchanged", False):
            return
        scenario: Scenario = self.__dict__.pop("_resolved")
        super().__init__(scenario=scenario)
        self.scenario_file = scenario_file or controls.SCHEMA_DEFAULTS
        message.value = ""


def first_model() -> DashboardModel:
    """A session's first model: its starting point, or the schema defaults if that one is bad."""
    token = _first_build.set(True)
    try:
        try:
            return DashboardModel(scenario_file=starting_point.value)
        except ScenarioError:
            problem = message.value
            starting_point.value = controls.SCHEMA_DEFAULTS
            fallback = DashboardModel(scenario_file=controls.SCHEMA_DEFAULTS)
            message.value = problem  # the page still says why it shows the defaults
            return fallback
    finally:
        _first_build.reset(token)


# This session's model, built on first use in each session (one value per Solara kernel).
model: solara.Reactive[DashboardModel] = solara.Reactive(
    KernelStoreFactory(first_model, key="simulation.dashboard.session.model")
)


def choose_starting_point(start: str) -> bool:
    """Load a starting point as this session's model; on bad input keep the model, say why."""
    new = DashboardModel(scenario_file=start)
    if new is model.value:  # refused: DashboardModel kept the model and set the message
        return False
    starting_point.value = start
    model.value = new
    return True


def reset_session() -> None:
    """Forget this session's state: the schema defaults, no message, a new model."""
    message.value = ""
    starting_point.value = controls.SCHEMA_DEFAULTS
    model.value = first_model()
