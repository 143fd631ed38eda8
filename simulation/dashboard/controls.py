"""The dashboard's controls, generated from the scenario schema and the structure registry.

A control sets one schema key (`learning.optimal_gap`). Its label, unit, allowed values and help
text come from the schema (config/schema.py: `field_info`, `describe_bounds`, `choices`), and
whether it is shown comes from the registry: a key of a section that some structure declares in
its `sections` (`experts`, `study_groups`) is shown only for the structures that read it; every
other key applies to all. So parameters and structures added later appear without a change here.
The only number of the dashboard's own is MAX_AGENTS, a limit of interactive use, not of the
model.

The sidebar shows the MAIN controls (short titles for the questions the model is about) and,
under "More parameters", every other key of the sections that apply. Controls hold text (what a
person typed, or the value a menu shows); `check` turns the texts into a validated Scenario, or
into one message per control that names what was wrong and what is allowed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError
from ..config.loading import load, parse_override
from ..config.schema import (
    LEVEL_NAMES,
    Scenario,
    choices,
    describe_bounds,
    field_info,
    parameter_keys,
)
from ..core.population import community_layout
from ..structures import Structure, all_structures, get

# The starting point that uses no file: every parameter at its schema default.
SCHEMA_DEFAULTS = "schema defaults"

# Agents (arrivals included) a dashboard model may hold: at 10^6 a week's step plus the redraw
# of every panel takes under half a second on 2 cores (benchmarks/dashboard_step.py) and the
# arrays take 12 MB; larger populations belong to `peerscale run`, which does not redraw.
MAX_AGENTS = 1_000_000

# Keys the dashboard does not offer: it names a scenario itself (after the starting point), and
# it shows one run, replicate 0 (seed run.seed), so replicates would change nothing on screen.
NOT_CONTROLS = ("name", "description", "run.replicates")

LEVEL_KEYS = tuple(f"program.{name}" for name in LEVEL_NAMES)


@dataclass(frozen=True)
class Control:
    """One control of the dashboard: it sets the schema key `key`."""

    key: str
    title: str = ""  # a short label; the key's own name if empty

    @property
    def section(self) -> str:
        """The schema section of the key ('program' for 'program.agency')."""
        return self.key.split(".")[0]

    @property
    def name(self) -> str:
        """The label's title: the short title, else the key's name ('peer_rate')."""
        return self.title or self.key.split(".")[-1]

    @property
    def unit(self) -> str:
        """The parameter's unit from the schema ('' if it has none)."""
        return (field_info(self.key).json_schema_extra or {}).get("unit", "")

    @property
    def meaning(self) -> str:
        """What the parameter means, from the schema."""
        return field_info(self.key).description or ""

    @property
    def kind(self) -> str:
        """'level' (0-2 with names), 'select' (a choice), 'list' (one value per level), 'text'."""
        if self.key in LEVEL_KEYS:
            return "level"
        if choices(self.key) is not None:
            return "select"
        if str(field_info(self.key).annotation).startswith("tuple"):
            return "list"
        return "text"


# The controls of the questions the model is about, in sidebar order, with short titles.
MAIN = (
    Control("program.structure", "Structure"),
    Control("population.size", "Population"),
    Control("program.responsiveness", "Responsiveness"),
    Control("program.agency", "Agency"),
    Control("program.connectivity", "Connectivity"),
    Control("learning.optimal_gap", "Optimal gap Z"),
    Control("experts.count", "Experts"),
    Control("study_groups.mode", "Study-group mode"),
    Control("study_groups.group_size", "Study-group size"),
    Control("run.steps", "Weeks"),
    Control("run.seed", "Seed"),
)


@cache
def all_controls() -> tuple[Control, ...]:
    """MAIN, then one control for every other key of the schema, in the schema's order."""
    main = {c.key for c in MAIN}
    more = tuple(
        Control(key)
        for key in parameter_keys()
        if "." in key and key not in main and key not in NOT_CONTROLS
    )
    return MAIN + more


def control(key: str) -> Control:
    """The control of a schema key (KeyError if the dashboard offers none)."""
    for c in all_controls():
        if c.key == key:
            return c
    raise KeyError(key)


def more_sections() -> tuple[str, ...]:
    """The sections of the controls beyond MAIN, in schema order ('run', 'population', ...)."""
    sections: list[str] = []
    for c in all_controls()[len(MAIN):]:
        if c.section not in sections:
            sections.append(c.section)
    return tuple(sections)


# ----------------------------------------------------------------------------------------------
# Where a control applies: from the registry


def structure_sections() -> frozenset[str]:
    """Sections read by some structures only (declared in their `sections`)."""
    return frozenset(s for structure in all_structures() for s in structure.sections)


def applies(control_: Control, structures: Iterable[Structure]) -> bool:
    """Whether any of `structures` reads the control's key."""
    if control_.section not in structure_sections():
        return True
    return any(control_.section in s.sections for s in structures)


def readers(control_: Control, structures: Iterable[Structure]) -> list[str]:
    """The names of the structures among `structures` that read the control's key."""
    return [s.name for s in structures if applies(control_, [s])]


# ----------------------------------------------------------------------------------------------
# Labels and help text from the schema


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


def interactive_upper(control_: Control) -> Any:
    """The largest value the dashboard accepts: the schema's bound, or MAX_AGENTS for sizes."""
    hi = _bounds(control_.key)[1]
    if control_.key == "population.size":
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


def allowed_text(control_: Control) -> str:
    """What a control accepts, in words: '2 to 1,000,000', or the schema's own words."""
    if control_.kind != "text":
        return describe_bounds(control_.key)
    lo, hi, open_low = _bounds(control_.key)
    if lo is None or hi is None:
        return describe_bounds(control_.key)
    if open_low:
        return f"above {_number(lo)} up to {_number(interactive_upper(control_))}"
    return f"{_number(lo)} to {_number(interactive_upper(control_))}"


def label(control_: Control) -> str:
    """A control's label: its title, the schema's unit and, for boxes, the allowed range."""
    unit = control_.unit if control_.unit not in ("", "level", control_.name.lower()) else ""
    if control_.kind == "text":  # a box shows no range of its own: the label says it
        return f"{control_.name} ({unit + ', ' if unit else ''}{allowed_text(control_)})"
    return f"{control_.name} ({unit})" if unit else control_.name


def level_effects(dimension: str, level: int, scenario: Scenario) -> list[str]:
    """What a level of a program dimension sets, from the schema's per-level magnitudes.

    The magnitudes are the `levels` keys whose meaning says 'per <dimension> level', e.g.
    'share of the gap above Z removed by fitting content to the learner: 0.5'.
    """
    effects = []
    marker = f", per {dimension} level"
    for key in parameter_keys():
        if not key.startswith("levels."):
            continue
        meaning = field_info(key).description or ""
        if marker in meaning:
            value = getattr(scenario.levels, key.split(".")[1])[level]
            effects.append(f"{meaning.split(marker)[0]}: {value:g}")
    return effects


def level_text(dimension: str, level: int) -> str:
    """A level as a menu shows it: '1 calibrated'."""
    return f"{level} {LEVEL_NAMES[dimension][level]}"


def help_text(control_: Control, value: Any, scenario: Scenario) -> str:
    """The line under a control: the schema's meaning (for a choice, of the chosen value)."""
    if control_.key == "program.structure" and isinstance(value, str):
        try:
            return f"{value}: {get(value).label}"
        except KeyError:
            return control_.meaning
    if control_.kind == "level" and isinstance(value, int):
        dimension = control_.key.split(".")[1]
        meaning = control_.meaning.split(":")[0]
        effects = "; ".join(level_effects(dimension, value, scenario))
        return f"{meaning}. At {level_text(dimension, value)}: {effects}" if effects else meaning
    return control_.meaning


def options(control_: Control) -> list[dict[str, str]]:
    """The items of a menu: the text shown and the control's text for it."""
    if control_.kind == "level":
        dimension = control_.key.split(".")[1]
        lo, hi, _ = _bounds(control_.key)
        return [{"text": level_text(dimension, k), "value": str(k)} for k in range(lo, hi + 1)]
    return [{"text": str(c), "value": str(c)} for c in choices(control_.key) or ()]


# ----------------------------------------------------------------------------------------------
# Values as text and back


def value_of(scenario: Scenario, key: str) -> Any:
    """The value of a dotted key in a scenario."""
    section, name = key.split(".")
    return getattr(getattr(scenario, section), name)


def text_of(value: Any) -> str:
    """A value as a control holds it: '0.1', '100000', '0.0, 0.5, 0.9'."""
    if isinstance(value, (list, tuple)):
        return ", ".join(text_of(v) for v in value)
    return str(value)


def texts_of(scenario: Scenario) -> dict[str, str]:
    """What every control holds for a scenario."""
    return {c.key: text_of(value_of(scenario, c.key)) for c in all_controls()}


def _number_from(text: str) -> Any:
    """Text typed into a number box: 1,000,000, 1_000_000 and 1e6 are numbers; else the text."""
    plain = text.strip().replace(",", "").replace("_", "")
    try:
        return int(plain)
    except ValueError:
        pass
    try:
        number = float(plain)
    except ValueError:
        return text.strip()  # not a number: the message says what is allowed
    return int(number) if number.is_integer() and "." not in plain else number


def parse(control_: Control, text: str | None) -> Any:
    """What a control holds, as the schema expects it; None if it is blank."""
    if text is None or str(text).strip() == "":
        return None  # a blank box keeps the starting point's value
    text = str(text).strip()
    if control_.kind == "level":
        head = text.split(" ", 1)[0]
        return int(head) if head.isdigit() else text
    if control_.kind == "select":
        for choice in choices(control_.key) or ():
            if str(choice) == text:
                return choice
        return text
    if control_.kind == "list":
        return [_number_from(part) for part in text.strip("[]()").split(",")]
    if field_info(control_.key).annotation is str:
        return text
    return _number_from(text)


def _kind_words(control_: Control) -> str:
    annotation = field_info(control_.key).annotation
    return "whole number" if annotation is int else "number"


# ----------------------------------------------------------------------------------------------
# Checking what the controls hold


def changes(start: Scenario, texts: Mapping[str, str]) -> dict[str, Any]:
    """The overrides the texts make to the starting point (blank and unchanged texts: none)."""
    started = texts_of(start)
    out = {}
    for key, text in texts.items():
        if key not in started or str(text).strip() == started[key]:
            continue
        value = parse(control(key), text)
        if value is not None:
            out[key] = value
    return out


def _message(control_: Control, value: Any, error: ScenarioError) -> str:
    """One line saying what was wrong with a control and what it accepts."""
    if control_.kind == "text":
        allowed = f"{allowed_text(control_)} ({_kind_words(control_)})"
        return f"invalid value {value!r}: allowed {allowed}"
    return error.message


def check(start: Scenario, texts: Mapping[str, str]) -> tuple[Scenario | None, dict[str, str]]:
    """The scenario the controls describe, or None and one message per control that is wrong.

    Each changed control is checked on its own first, so every bad box is marked, not only the
    first; then together (e.g. motivation.initial_min above initial_max), then against the
    dashboard's population limit. A problem not of one control is keyed ''.
    """
    overrides = changes(start, texts)
    problems: dict[str, str] = {}
    for key, value in overrides.items():
        try:
            start.with_overrides({key: value}, source="dashboard")
        except ScenarioError as exc:
            problems[key] = _message(control(key), texts[key], exc)
    if problems:
        return None, problems
    try:
        scenario = start.with_overrides(overrides, source="dashboard") if overrides else start
    except ScenarioError as exc:
        return None, {exc.key or "": exc.message}
    limit = interactive_limit(scenario)
    if limit:
        return None, {"population.size": limit}
    return scenario, {}


def check_leniently(
    start: Scenario, texts: Mapping[str, str]
) -> tuple[Scenario, dict[str, str]]:
    """The scenario of the texts that are allowed, and one message per text left out.

    For a view that must build a model whatever the controls hold (Mesa's SolaraViz builds it
    on Reset and has no way to refuse): a control whose text is not allowed keeps the starting
    point's value and is named in the messages. If the allowed texts still do not go together,
    nothing is applied (the starting point itself).
    """
    scenario, problems = check(start, texts)
    if scenario is not None:
        return scenario, {}
    if "" not in problems:
        allowed = {key: text for key, text in texts.items() if key not in problems}
        scenario, more = check(start, allowed)
        if scenario is not None:
            return scenario, problems
        problems = {**problems, **more}
    return start, problems


def interactive_limit(scenario: Scenario) -> str:
    """Why a scenario is too large to redraw every week ('' if it is not; arrivals count)."""
    pop = scenario.population
    if pop.size > MAX_AGENTS:
        return (
            f"{pop.size:,} agents is more than the dashboard's {MAX_AGENTS:,}; "
            "use `peerscale run` for larger populations"
        )
    slots = _slots(scenario)
    if slots > MAX_AGENTS:
        return (
            f"{pop.size:,} agents plus arrivals over {scenario.run.steps:,} weeks make {slots:,}, "
            f"more than the dashboard's {MAX_AGENTS:,}; use fewer weeks or `peerscale run`"
        )
    return ""


def _slots(scenario: Scenario) -> int:
    pop = scenario.population
    start, _ = community_layout(pop.size, pop.community_size, pop.arrival_rate, scenario.run.steps)
    return int(start[-1])


def headline(problems: Mapping[str, str]) -> str:
    """All problems in one line, each naming its control."""
    parts = []
    for key, message in problems.items():
        parts.append(f"{label_title(key)}: {message}" if key else message)
    return "; ".join(parts)


def label_title(key: str) -> str:
    """The title a control shows for a key (the key itself if the dashboard has no control)."""
    try:
        return control(key).name
    except KeyError:
        return key


# ----------------------------------------------------------------------------------------------
# Starting points: scenario files


@dataclass(frozen=True)
class StartingPoint:
    """A scenario file of the scenario folder (or the schema defaults), as the menu offers it."""

    name: str
    scenario: Scenario | None  # None if the file cannot be used
    problem: str = ""  # why it cannot be used
    note: str = ""  # what the dashboard changed to run it (a smaller population)

    @property
    def label(self) -> str:
        """What the menu shows."""
        if self.problem:
            return f"{self.name} (cannot be read)"
        if self.note and self.scenario is not None:
            return f"{self.name} (scaled to {self.scenario.population.size:,} learners)"
        return self.name


def scenario_folder() -> Path:
    """The folder of scenario files offered as starting points.

    PEERSCALE_SCENARIOS if set, else `scenarios/` beside the package in a source checkout, else
    `scenarios/` in the working directory.
    """
    if os.environ.get("PEERSCALE_SCENARIOS"):
        return Path(os.environ["PEERSCALE_SCENARIOS"])
    beside = Path(__file__).resolve().parents[2] / "scenarios"
    return beside if beside.is_dir() else Path.cwd() / "scenarios"


def fit(scenario: Scenario, source: str) -> tuple[Scenario, str]:
    """The scenario scaled down to the dashboard's limit, and a note saying so ('' if it fits).

    Only population.size changes (the rules, community size and every other parameter stay), to
    the largest size whose agents, arrivals included, fit in MAX_AGENTS.
    """
    if not interactive_limit(scenario):
        return scenario, ""
    size = scenario.population.size
    scaled = scenario.with_overrides({"population.size": min(size, MAX_AGENTS)}, source=source)
    while interactive_limit(scaled):
        shrink = MAX_AGENTS / _slots(scaled)
        smaller = max(2, min(scaled.population.size - 1, int(scaled.population.size * shrink)))
        scaled = scaled.with_overrides({"population.size": smaller}, source=source)
    note = (
        f"{source} sets {size:,} learners; the dashboard runs it with "
        f"{scaled.population.size:,} (every other parameter as in the file; "
        f"`peerscale run {source}` runs it at full size)"
    )
    return scaled, note


def starting_point(name: str | None) -> StartingPoint:
    """A starting point by name: the schema defaults or a file of the scenario folder.

    A file is read again only when it changed (the page asks on every redraw).
    """
    if name in (None, "", SCHEMA_DEFAULTS):
        return _read(SCHEMA_DEFAULTS, "", None)
    path = Path(name)
    if path.name != name or path.suffix != ".toml":
        return StartingPoint(name, None, f"{name!r} is not a scenario file of {scenario_folder()}")
    full = scenario_folder() / path
    try:
        stamp = full.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _read(name, str(full), stamp)


@lru_cache(maxsize=128)
def _read(name: str, path: str, stamp: int | None) -> StartingPoint:
    """A starting point read from its file (`stamp`: its modification time, for the cache)."""
    if name == SCHEMA_DEFAULTS:
        return StartingPoint(SCHEMA_DEFAULTS, Scenario())
    try:
        scenario = load(path)
    except ScenarioError as exc:
        return StartingPoint(name, None, str(exc))
    scenario, note = fit(scenario, name)
    return StartingPoint(name, scenario, note=note)


def starting_points() -> list[StartingPoint]:
    """The schema defaults, then every scenario file of the folder (read anew on each call)."""
    folder = scenario_folder()
    files = sorted(p.name for p in folder.glob("*.toml")) if folder.is_dir() else []
    return [starting_point(SCHEMA_DEFAULTS), *(starting_point(f) for f in files)]


# ----------------------------------------------------------------------------------------------
# Configurations of the comparison


@dataclass(frozen=True)
class Configuration:
    """One configuration of the comparison: a structure and optional further changes.

    Every control of the sidebar applies to all configurations (matched levels, population,
    seed); `changes` are `key=value` pairs, as `peerscale run --set` takes them, separated by
    ';', for what one configuration does differently (e.g. 'program.agency=2').
    """

    structure: str
    changes: str = ""


def default_configurations() -> tuple[Configuration, ...]:
    """The comparison the model exists for: the first three structures of the registry."""
    return tuple(Configuration(s.name) for s in all_structures()[:3])


def configuration_overrides(configuration: Configuration) -> dict[str, Any]:
    """The overrides of a configuration (ScenarioError for a pair that is not key=value)."""
    pairs: dict[str, Any] = {"program.structure": configuration.structure}
    for part in configuration.changes.replace("\n", ";").split(";"):
        if part.strip():
            key, value = parse_override(part.strip(), source="changes")
            pairs[key] = value
    return pairs


def configuration_scenario(base: Scenario, configuration: Configuration) -> Scenario:
    """The scenario of one configuration of the comparison (ScenarioError, one line, if bad)."""
    scenario = base.with_overrides(configuration_overrides(configuration), source="changes")
    limit = interactive_limit(scenario)
    if limit:
        raise ScenarioError("changes", limit, key="population.size")
    return scenario


def configuration_names(configurations: Sequence[Configuration]) -> list[str]:
    """What the legend calls each configuration: its structure, and its changes if any."""
    names = []
    for c in configurations:
        extra = "; ".join(p.strip() for p in c.changes.replace("\n", ";").split(";") if p.strip())
        names.append(f"{c.structure} ({extra})" if extra else c.structure)
    return names
