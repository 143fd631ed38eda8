"""The dashboard's controls, generated from the scenario schema.

Each control changes one scenario parameter. Its starting value comes from the chosen starting
point (a scenario file in `scenarios/`, or the schema's defaults), and its bounds, unit and the
words of its error messages come from the schema (config/schema.py); nothing here repeats a
default or a bound. The only number of the dashboard's own is MAX_AGENTS, a limit of interactive
use, not of the model.

`model_params(start)` gives the `model_params` of Mesa's SolaraViz, and `resolve(...)` turns what
the controls hold (text typed into a box arrives as str) into a validated Scenario, raising
ScenarioError with a one-line message that names the control.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..config.errors import ScenarioError
from ..config.loading import load
from ..config.schema import LEVEL_NAMES, Scenario, choices, describe_bounds, field_info
from ..core.population import community_layout

# The starting point that uses no file: every parameter at its schema default.
SCHEMA_DEFAULTS = "schema defaults"

# Agents (arrivals included) a dashboard model may hold: at 10^6 one step plus the redraw of all
# panels takes well under a second on 2 cores (benchmarks/dashboard_step.py) and the arrays
# take 12 MB; larger populations belong to `peerscale run`, which does not redraw every week.
MAX_AGENTS = 1_000_000


@dataclass(frozen=True)
class Control:
    """One control of the dashboard: a keyword of DashboardModel that sets one schema key."""

    name: str
    key: str
    title: str
    widget: Literal["select", "level", "text"]

    @property
    def unit(self) -> str:
        """The parameter's unit from the schema ('' if it has none)."""
        return (field_info(self.key).json_schema_extra or {}).get("unit", "")

    @property
    def description(self) -> str:
        """What the parameter means, from the schema."""
        return field_info(self.key).description or ""


# The controls, in the order the sidebar shows them. Titles are short labels; meanings, units and
# bounds are read from the schema.
CONTROLS = (
    Control("structure", "program.structure", "Structure", "select"),
    Control("population", "population.size", "Population", "text"),
    Control("responsiveness", "program.responsiveness", "Responsiveness", "level"),
    Control("agency", "program.agency", "Agency", "level"),
    Control("connectivity", "program.connectivity", "Connectivity", "level"),
    Control("optimal_gap", "learning.optimal_gap", "Optimal gap Z", "text"),
    Control("experts", "experts.count", "Experts", "text"),
    Control("weeks", "run.steps", "Weeks", "text"),
    Control("seed", "run.seed", "Seed", "text"),
    # Read by the study_groups structure only; shown for every structure, so that a value picked
    # before Reset is the one the new model gets, whichever structure was on screen.
    Control("group_mode", "study_groups.mode", "Study-group mode", "select"),
    Control("group_size", "study_groups.group_size", "Study-group size", "text"),
)
BY_NAME = {c.name: c for c in CONTROLS}
BY_KEY = {c.key: c for c in CONTROLS}


# ----------------------------------------------------------------------------------------------
# Starting points


def scenario_folder() -> Path:
    """The folder of scenario files offered as starting points.

    PEERSCALE_SCENARIOS if set, else `scenarios/` beside the package in a source checkout, else
    `scenarios/` in the working directory.
    """
    if os.environ.get("PEERSCALE_SCENARIOS"):
        return Path(os.environ["PEERSCALE_SCENARIOS"])
    beside = Path(__file__).resolve().parents[2] / "scenarios"
    return beside if beside.is_dir() else Path.cwd() / "scenarios"


def starting_points() -> list[str]:
    """The schema defaults, then every scenario file in the folder (listed anew each call)."""
    folder = scenario_folder()
    files = sorted(p.name for p in folder.glob("*.toml")) if folder.is_dir() else []
    return [SCHEMA_DEFAULTS, *files]


def starting_scenario(start: str | None) -> Scenario:
    """The scenario a starting point names: a file of the scenario folder, or the defaults."""
    if start in (None, "", SCHEMA_DEFAULTS):
        return Scenario()
    path = Path(start)
    if path.name != start or path.suffix != ".toml":
        raise ScenarioError(
            "scenario file", f"{start!r} is not a scenario file of {scenario_folder()}"
        )
    return load(scenario_folder() / path)


# ----------------------------------------------------------------------------------------------
# Controls from the schema


def _bounds(key: str) -> tuple[Any, Any, bool]:
    """(lower, upper, lower bound excluded) of a numeric key, from the schema's constraints."""
    lo = hi = None
    open_low = False
    for meta in field_info(key).metadata:
        if getattr(meta, "ge", None) is not None:
            lo = meta.ge
        if getattr(meta, "gt", None) is not None:
            lo, open_low = meta.gt, True
        if getattr(meta, "le", None) is not None:
            hi = meta.le
    return lo, hi, open_low


def interactive_upper(control: Control) -> Any:
    """The largest value the dashboard accepts: the schema's bound, or MAX_AGENTS for sizes."""
    hi = _bounds(control.key)[1]
    if control.key == "population.size":
        return min(hi, MAX_AGENTS)
    return hi


def _number(x: Any) -> str:
    """A bound in words: 0.5, 1,000,000 below 10^7, else a power (10^9, 2^62) or 3 digits."""
    if isinstance(x, float):
        return f"{x:g}"
    if abs(x) < 10**7:
        return f"{x:,}"
    for base in (10, 2):
        power = round(math.log(x, base))
        if base**power == x:
            return f"{base}^{power}"
    return f"{x:.3g}"


def allowed_text(control: Control) -> str:
    """What a numeric control accepts, in words: '2 to 1,000,000'."""
    lo, hi, open_low = _bounds(control.key)
    if lo is None or hi is None:
        return describe_bounds(control.key)
    if open_low:
        return f"above {_number(lo)} up to {_number(interactive_upper(control))}"
    return f"{_number(lo)} to {_number(interactive_upper(control))}"


def label(control: Control) -> str:
    """A control's label: its title, the schema's unit and, for boxes, the allowed range."""
    unit = control.unit if control.unit not in ("", "level", control.title.lower()) else ""
    if control.widget == "text":  # a box shows no range of its own: the label says it
        return f"{control.title} ({unit + ', ' if unit else ''}{allowed_text(control)})"
    return f"{control.title} ({unit})" if unit else control.title


def level_values(control: Control) -> list[str]:
    """Choices of a level control: '0 ignorant', '1 calibrated', '2 diagnostic'."""
    names = LEVEL_NAMES[control.key.split(".")[1]]
    lo, hi, _ = _bounds(control.key)
    return [f"{level} {names[level]}" for level in range(lo, hi + 1)]


def current_value(scenario: Scenario, key: str) -> Any:
    """The value of a dotted key in a scenario."""
    section, name = key.split(".")
    return getattr(getattr(scenario, section), name)


def widget_spec(control: Control, value: Any) -> dict[str, Any]:
    """The Mesa SolaraViz input for one control, starting at `value`."""
    if control.widget == "select":
        return {
            "type": "Select",
            "label": label(control),
            "value": value,
            "values": list(choices(control.key) or ()),
        }
    if control.widget == "level":
        values = level_values(control)
        return {
            "type": "Select",
            "label": label(control),
            "value": values[int(value)],
            "values": values,
        }
    return {"type": "InputText", "label": label(control), "value": str(value)}


def model_params(start: str | None = None) -> dict[str, Any]:
    """SolaraViz's `model_params`: the starting point (fixed) and one input per control.

    The controls start at the starting point's values, so choosing a file shows what it sets.
    """
    try:
        scenario = starting_scenario(start)
    except ScenarioError:
        start, scenario = SCHEMA_DEFAULTS, Scenario()  # the chooser reports the problem
    params: dict[str, Any] = {"scenario_file": start or SCHEMA_DEFAULTS}
    for control in CONTROLS:
        params[control.name] = widget_spec(control, current_value(scenario, control.key))
    return params


# ----------------------------------------------------------------------------------------------
# From what the controls hold to a scenario


def _from_control(control: Control, value: Any) -> Any:
    """What a control holds, as the schema expects it; None if the control is blank."""
    if value is None:
        return None
    if control.widget == "level" and isinstance(value, str):
        head = value.strip().split(" ", 1)[0]
        return int(head) if head.isdigit() else value
    if not isinstance(value, str):
        return value
    if value.strip() == "":
        return None  # a blank box keeps the starting point's value
    if control.widget != "text":
        return value.strip()
    text = value.strip().replace(",", "").replace("_", "")  # 1,000,000 and 1_000_000
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)  # 1e6
    except ValueError:
        return value.strip()  # not a number: the message says what is allowed
    return int(number) if number.is_integer() else number


def resolve(scenario_file: str | None = None, **values: Any) -> Scenario:
    """The scenario a starting point and the controls describe, validated.

    Raises:
        ScenarioError: a bad file or value; the message names the control and what is allowed.
    """
    try:
        scenario = starting_scenario(scenario_file)
    except ScenarioError as exc:
        raise ScenarioError("Scenario file", f"{exc}") from None
    changes, typed = {}, {}
    for name, value in values.items():
        control = BY_NAME[name]
        converted = _from_control(control, value)
        if converted is not None:
            changes[control.key], typed[control.key] = converted, value
    try:
        scenario = scenario.with_overrides(changes, source="dashboard") if changes else scenario
    except ScenarioError as exc:
        culprit = BY_KEY.get(exc.key or "")
        if culprit is None:
            raise
        message = exc.message
        if culprit.widget == "text":  # say what was typed and the dashboard's own range
            kind = "whole number" if field_info(culprit.key).annotation is int else "number"
            message = (
                f"invalid value {typed[culprit.key]!r}: allowed {allowed_text(culprit)} ({kind})"
            )
        raise ScenarioError(culprit.title, message) from None
    check_interactive(scenario)
    return scenario


def check_interactive(scenario: Scenario) -> None:
    """Refuse populations too large to redraw every week (arrivals count: they are allocated)."""
    pop = scenario.population
    if pop.size > MAX_AGENTS:
        raise ScenarioError(
            "Population",
            f"{pop.size:,} agents is more than the dashboard's {MAX_AGENTS:,}; "
            "use `peerscale run` for larger populations",
        )
    slots = int(
        community_layout(pop.size, pop.community_size, pop.arrival_rate, scenario.run.steps)[0][-1]
    )
    if slots > MAX_AGENTS:
        raise ScenarioError(
            "Population",
            f"{pop.size:,} agents plus arrivals over {scenario.run.steps:,} weeks make "
            f"{slots:,}, more than the dashboard's {MAX_AGENTS:,}; "
            "use fewer weeks or `peerscale run`",
        )
