"""Sweep files: a base scenario, its arms, the parameters that vary, the outputs and the design.

A sweep file (TOML; docs/sweeps.md) is read into a `Sweep`: every scenario it names is loaded
and validated, every parameter is checked against the schema (simulation/config/schema.py: keys,
bounds, choices) and every output against the metrics the structures declare
(core.aggregates.METRICS, the pyramid's bands, each structure's own `metrics`, and `SUMMARIES`
below). A bad file raises `SweepError` (a ScenarioError: one line, exit code 2 in the CLI)
before anything runs.

A run of a sweep is one (point, arm, replicate): the arm's scenario with the point's overrides,
seeded with seed + replicate. Arms are one dimension of the points beside the design; a later
dimension (a calibration ensemble) is one more layer of overrides between the arm and the point
(`Sweep.scenario`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...config.errors import ScenarioError
from ...config.loading import load, read_toml
from ...config.schema import Scenario, choices, field_info, parameter_keys
from ...core.aggregates import METRICS, START_BAND_METRICS

# Summaries over weeks, beside the weekly metrics: name -> (weekly metric summed, meaning). The
# same definition as analysis/runner.RunSet.final (tests/test_sweep.py checks they agree).
SUMMARIES: dict[str, tuple[str, str]] = {
    "gain_per_capita": ("mean_gain", "skill gained per capita: mean_gain summed over weeks 0..w"),
}

DESIGNS = ("grid", "latin_hypercube", "morris", "sobol")
# Design settings each design reads (anything else set in [design] is an error).
DESIGN_SETTINGS = {
    "grid": (),
    "latin_hypercube": ("n",),
    "morris": ("trajectories", "levels", "resamples", "confidence"),
    "sobol": ("n", "second_order", "resamples", "confidence"),
}
MAX_POINTS = 10**7  # point files are named with 7 digits
KEY = re.compile(r"^([a-z_]+\.[a-z_0-9]+)(?:\[(\d+)\])?$")


class SweepError(ScenarioError):
    """A bad sweep file: where, which key, and what is allowed, in one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioRef(_Strict):
    """A scenario file (relative to the sweep file) and overrides applied to it."""

    scenario: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)


class ParameterSpec(_Strict):
    """What a parameter takes: a range (numbers) or a list of values (any type).

    `also`: settings that go with some of the values (keyed by the value as text), e.g. each
    structure with its own expert format: `also = { expert_only = { "experts.format" = ... } }`.
    """

    range: tuple[float, float] | None = None
    values: list[Any] | None = None
    steps: int | None = Field(None, ge=2, le=10_000)  # grid points over a range
    also: dict[str, dict[str, Any]] = Field(default_factory=dict)


class OutputSpec(_Strict):
    """A metric at a week (or the final week), of one arm or the difference of two."""

    metric: str
    week: int | Literal["final"] = "final"
    arm: str | None = None
    difference: tuple[str, str] | None = None
    name: str | None = None


class DesignSpec(_Strict):
    """The experimental design and its settings."""

    kind: Literal["grid", "latin_hypercube", "morris", "sobol"]
    n: int | None = Field(None, ge=1, le=MAX_POINTS)
    trajectories: int | None = Field(None, ge=2, le=100_000)
    levels: int = Field(4, ge=2, le=1000)
    second_order: bool = False
    resamples: int = Field(1000, ge=10, le=100_000)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)


class SweepFile(_Strict):
    """The top level of a sweep file."""

    name: str | None = None
    description: str = ""
    seed: int = Field(0, ge=0, le=2**62)
    replicates: int = Field(1, ge=1, le=100_000)
    base: ScenarioRef
    arms: dict[str, ScenarioRef] = Field(default_factory=dict)
    design: DesignSpec
    parameters: dict[str, ParameterSpec]
    outputs: list[OutputSpec]


@dataclass(frozen=True)
class Parameter:
    """A parameter that varies: a schema key (an element of a per-level tuple: `key[i]`).

    `kind` is 'float' (a range, uniform), 'int' (a range of whole numbers, each equally likely)
    or 'choice' (a list of values, each equally likely in sampled designs).
    """

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None
    # Settings that go with a value (ParameterSpec.also), by the value as text; frozen: not hashed.
    also: dict[str, dict[str, Any]] | None = None

    def companions(self, value: Any) -> dict[str, Any]:
        """The settings that go with `value` (empty if none)."""
        return dict((self.also or {}).get(value_text(value), {}))

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) of a range parameter ('float' or 'int')."""
        if self.low is None or self.high is None:
            raise ValueError(f"{self.key} is a list of values, not a range")
        return self.low, self.high

    def from_unit(self, u: float) -> Any:
        """The value at u in [0, 1] of the unit hypercube that SALib samples."""
        if self.values is not None:
            k = len(self.values)
            return self.values[min(math.floor(u * k), k - 1)]
        low, high = self.bounds
        if self.kind == "float":
            return float(low + u * (high - low))
        span = int(high) - int(low)
        return int(low) + min(math.floor(u * (span + 1)), span)

    def grid(self, steps: int | None) -> list[Any]:
        """The grid values: the list given, or `steps` values evenly spread over the range."""
        if self.values is not None:
            return list(self.values)
        if steps is None:
            raise ValueError(f"{self.key}: a range on a grid needs a number of steps")
        low, high = self.bounds
        span = [low + (high - low) * i / (steps - 1) for i in range(steps)]
        if self.kind == "int":
            return sorted({round(x) for x in span})
        return [float(x) for x in span]

    def to_json(self) -> dict[str, Any]:
        """The JSON form recorded in the manifest."""
        return {
            "key": self.key,
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "values": None if self.values is None else list(self.values),
        } | ({"also": self.also} if self.also else {})


@dataclass(frozen=True)
class Output:
    """One output column: `metric` at `week` (None: the final week) of an arm or a difference."""

    name: str
    metric: str
    week: int | None
    arm: str | None
    difference: tuple[str, str] | None

    @property
    def arms(self) -> tuple[str, ...]:
        """The arms this output reads (two for a difference)."""
        if self.difference:
            return self.difference
        assert self.arm is not None  # an output reads an arm or a difference of two
        return (self.arm,)

    def to_json(self) -> dict[str, Any]:
        """The JSON form recorded in the manifest."""
        return {
            "name": self.name,
            "metric": self.metric,
            "week": self.week,
            "arm": self.arm,
            "difference": None if self.difference is None else list(self.difference),
        }


@dataclass
class Sweep:
    """A validated sweep: what the design varies, over which arms, and what is recorded."""

    name: str
    description: str
    seed: int
    replicates: int
    arms: dict[str, Scenario]
    named_arms: bool
    parameters: list[Parameter]
    steps: dict[str, int | None]  # grid steps per parameter key
    outputs: list[Output]
    design: DesignSpec
    source: str = ""
    # Calibration-ensemble members every point runs under (analysis/ensemble.py; `--ensemble K`):
    # {"member", "name", "chosen_by", "values"} each; empty: the scenarios' own parameters.
    ensemble: tuple[dict[str, Any], ...] = ()

    @property
    def members(self) -> int:
        """Parameter sets each point runs under: the ensemble's members, or 1."""
        return max(1, len(self.ensemble))

    @property
    def runs_per_point(self) -> int:
        """Model runs per point: each replicate of every arm an output reads (per member)."""
        used = {arm for output in self.outputs for arm in output.arms}
        return self.members * self.replicates * len(used)

    @property
    def seeds(self) -> list[int]:
        """Replicate r of every point uses seed + r (common random numbers across points)."""
        return [self.seed + r for r in range(self.replicates)]

    def scenario(
        self, arm: str, overrides: dict[str, Any], member: dict[str, Any] | None = None
    ) -> Scenario:
        """The scenario of one arm at one point: the arm's scenario with the point's overrides.

        With an ensemble `member`, its calibrated values come between the arm and the point; the
        settings that go with the point's values (`Parameter.also`) come just before the point.
        """
        layered = dict(member["values"]) if member else {}
        for parameter in self.parameters:
            if parameter.key in overrides:
                layered |= parameter.companions(overrides[parameter.key])
        return with_element_overrides(
            self.arms[arm], layered | overrides, self.source or "sweep"
        )

    def to_json(self) -> dict[str, Any]:
        """Everything that decides the sweep's numbers, as JSON (sweep.json, manifest.json)."""
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "replicates": self.replicates,
            "arms": {k: s.model_dump(mode="json") for k, s in self.arms.items()},
            "named_arms": self.named_arms,
            "parameters": [p.to_json() for p in self.parameters],
            "steps": self.steps,
            "outputs": [o.to_json() for o in self.outputs],
            "design": self.design.model_dump(mode="json"),
        } | ({"ensemble": list(self.ensemble)} if self.ensemble else {})

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> Sweep:
        """The sweep stored by `to_json` (a results folder's sweep.json)."""
        try:
            return cls(
                name=data["name"],
                description=data["description"],
                seed=int(data["seed"]),
                replicates=int(data["replicates"]),
                arms={k: Scenario.model_validate(v) for k, v in data["arms"].items()},
                named_arms=bool(data["named_arms"]),
                parameters=[
                    Parameter(
                        p["key"],
                        p["kind"],
                        p["low"],
                        p["high"],
                        None if p["values"] is None else tuple(p["values"]),
                        p.get("also"),
                    )
                    for p in data["parameters"]
                ],
                steps=dict(data["steps"]),
                outputs=[
                    Output(
                        o["name"],
                        o["metric"],
                        o["week"],
                        o["arm"],
                        None if o["difference"] is None else tuple(o["difference"]),
                    )
                    for o in data["outputs"]
                ],
                design=DesignSpec.model_validate(data["design"]),
                source=source,
                ensemble=tuple(data.get("ensemble", ())),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise SweepError(
                source, f"not a sweep written by this version of PeerScale ({exc})"
            ) from None

    def fingerprint(self) -> str:
        """A digest of `to_json`: a results folder resumes only the sweep that started it."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------
# Overrides of single levels of per-level tuples ("levels.agency_decay[2]")


def value_text(value: Any) -> str:
    """A parameter value as the text that keys `also` (TOML keys are text): 2, 0.5, expert_only."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def split_key(key: str) -> tuple[str, int | None]:
    """'levels.agency_decay[2]' -> ('levels.agency_decay', 2); a plain key -> (key, None)."""
    match = KEY.match(key)
    if not match:
        return key, None
    return match.group(1), None if match.group(2) is None else int(match.group(2))


def with_element_overrides(scenario: Scenario, overrides: dict[str, Any], source: str) -> Scenario:
    """`scenario.with_overrides`, where a key may name one element of a per-level tuple."""
    plain: dict[str, Any] = {}
    for key, value in overrides.items():
        name, index = split_key(key)
        if index is None:
            plain[key] = value
            continue
        if name not in plain:
            section, field = name.split(".")
            plain[name] = list(getattr(getattr(scenario, section), field))
        plain[name][index] = value
    return scenario.with_overrides(plain, source=source) if plain else scenario


# ----------------------------------------------------------------------------------------------
# Reading and validating a sweep file


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The key path and message of pydantic's first error, in the words of the schema errors."""
    err = exc.errors()[0]
    key = ""
    for part in err["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    if err["type"] == "extra_forbidden":
        return key, "unknown key"
    if err["type"] == "missing":
        return key, "missing"
    return key, f"invalid value {err.get('input')!r}: {err['msg']}"


def _resolve_path(text: str, folder: Path) -> Path:
    path = Path(text)
    return path if path.is_absolute() else folder / path


def _load_arm(
    ref: ScenarioRef, base: ScenarioRef, folder: Path, source: str, where: str
) -> Scenario:
    """An arm's scenario: its file (or the base file), then the base's and the arm's overrides."""
    file = ref.scenario or base.scenario
    try:
        scenario = load(_resolve_path(file, folder)) if file else Scenario()
        scenario = with_element_overrides(scenario, dict(base.set), f"{source}: base.set")
        if ref is not base:
            scenario = with_element_overrides(scenario, dict(ref.set), f"{source}: {where}.set")
    except ScenarioError as exc:
        raise SweepError(source, f"{where}: {exc}") from None
    except (IndexError, AttributeError):
        raise SweepError(
            source, f"{where}.set: a level index is out of range (levels are 0, 1, 2)"
        ) from None
    return scenario


def _parameter(key: str, spec: ParameterSpec, design: str, source: str) -> Parameter:
    """Check a parameter's key and values against the schema's declaration of that key."""
    where = f"parameters.{key}"
    name, index = split_key(key)
    if not KEY.match(key) or name not in parameter_keys():
        close = difflib.get_close_matches(name, parameter_keys(), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else " (see `peerscale params`)"
        raise SweepError(source, f"unknown parameter '{key}'{hint}", key="parameters")
    annotation = field_info(name).annotation
    is_tuple = str(annotation).startswith("tuple")
    if is_tuple and index is None:
        raise SweepError(
            source, f"{name} has one value per level: vary one of {name}[0], [1] or [2]", key=where
        )
    if not is_tuple and index is not None:
        raise SweepError(source, f"{name} is not a per-level list: drop [{index}]", key=where)
    if is_tuple:
        assert index is not None  # checked just above
        args = annotation.__args__
        if index >= len(args):
            raise SweepError(
                source, f"level index {index} out of range: 0 to {len(args) - 1}", key=where
            )
        inner = args[index]
        element = getattr(inner, "__origin__", inner)
    else:
        element = annotation
    numeric = element in (int, float) and choices(name) is None
    if (spec.range is None) == (spec.values is None):
        raise SweepError(
            source, "give exactly one of range = [low, high] or values = [...]", key=where
        )
    if spec.steps is not None and (design != "grid" or spec.range is None):
        raise SweepError(
            source, "steps sets a grid over a range; only for design.kind = 'grid'", key=where
        )
    if spec.values is not None:
        if not spec.values:
            raise SweepError(source, "values: give at least one value", key=where)
        if len({json.dumps(v, sort_keys=True) for v in spec.values}) != len(spec.values):
            raise SweepError(source, "values: each value may appear once", key=where)
        kinds = {
            type(v) if not isinstance(v, int | float) or isinstance(v, bool) else float
            for v in spec.values
        }
        if len(kinds) > 1:
            raise SweepError(
                source, "values: all values must have one type (numbers or text)", key=where
            )
        values = tuple(
            float(v) if element is float and isinstance(v, int) else v for v in spec.values
        )
        texts = [value_text(v) for v in values]
        for text, settings in spec.also.items():
            if text not in texts:
                raise SweepError(
                    source, f"also.{text}: not one of the values ({', '.join(texts)})",
                    key=where,
                )
            if not settings:
                raise SweepError(source, f"also.{text}: give at least one setting", key=where)
        return Parameter(key, "choice", values=values, also=dict(spec.also) or None)
    if spec.also:
        raise SweepError(source, "also goes with values = [...], not a range", key=where)
    if not numeric:
        allowed = choices(name)
        words = f"one of {', '.join(map(repr, allowed))}" if allowed else "text"
        raise SweepError(source, f"takes {words}: give values = [...], not a range", key=where)
    assert spec.range is not None  # a parameter gives values or a range (checked by its model)
    low, high = spec.range
    if not low < high:
        raise SweepError(source, f"bad range [{low}, {high}]: low must be below high", key=where)
    if element is int and (low != int(low) or high != int(high)):
        raise SweepError(
            source, f"bad range [{low}, {high}]: whole numbers for an integer", key=where
        )
    if design == "grid" and spec.steps is None:
        raise SweepError(
            source, "a grid over a range needs steps = k (or give values = [...])", key=where
        )
    kind = "int" if element is int else "float"
    return Parameter(
        key,
        kind,
        float(low) if kind == "float" else int(low),
        float(high) if kind == "float" else int(high),
    )


def _check_values(parameter: Parameter, arms: dict[str, Scenario], source: str) -> None:
    """Every value a parameter can take is valid in every arm (bounds and choices of the schema)."""
    probe = parameter.values if parameter.values is not None else (parameter.low, parameter.high)
    for arm, scenario in arms.items():
        for value in probe:
            try:
                with_element_overrides(
                    scenario, parameter.companions(value) | {parameter.key: value}, ""
                )
            except ScenarioError as exc:
                where = f" (arm {arm})" if len(arms) > 1 else ""
                key = f"parameters.{parameter.key}"
                if exc.key and exc.key in parameter.companions(value):
                    key += f".also.{value_text(value)}.{exc.key}"  # the setting that is wrong
                raise SweepError(source, f"{exc.message}{where}", key=key) from None


def available_metrics(scenario: Scenario) -> dict[str, str]:
    """The outputs a scenario can report: weekly metrics, the pyramid's bands, summaries."""
    names = dict(METRICS)
    names.update(
        {f"band_{k}": f"active learners in skill band {k}" for k in range(scenario.metrics.bands)}
    )
    names.update({
        name.format(k=k): meaning.replace("band k", f"band {k}")
        for k in range(scenario.metrics.bands) for name, meaning in START_BAND_METRICS.items()
    })
    names.update(scenario.structure.metrics)
    names.update({k: meaning for k, (_, meaning) in SUMMARIES.items()})
    return names


def _output(
    index: int, spec: OutputSpec, arms: dict[str, Scenario], named: bool, source: str
) -> list[Output]:
    """One output of the file: one column per arm when it names none, or one difference."""
    where = f"outputs[{index}]"
    if (spec.arm or spec.difference) and not named:
        raise SweepError(source, "arm and difference need an [arms] table", key=where)
    if spec.arm and spec.difference:
        raise SweepError(source, "give arm or difference, not both", key=where)
    for arm in (spec.difference or ()) + ((spec.arm,) if spec.arm else ()):
        if arm not in arms:
            raise SweepError(source, f"unknown arm '{arm}': one of {', '.join(arms)}", key=where)
    if spec.difference and spec.difference[0] == spec.difference[1]:
        raise SweepError(source, "difference needs two different arms", key=where)
    used = spec.difference or ((spec.arm,) if spec.arm else tuple(arms))
    for arm in used:
        known = available_metrics(arms[arm])
        if spec.metric not in known:
            close = [k for k in known if spec.metric in k or k in spec.metric]
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise SweepError(
                source,
                f"unknown metric '{spec.metric}' for structure "
                f"{arms[arm].program.structure}{hint} (weekly metrics: docs/ODD.md, "
                f"summaries: {', '.join(SUMMARIES)})",
                key=f"{where}.metric",
            )
        if spec.week != "final" and not 0 <= spec.week <= arms[arm].run.steps:
            raise SweepError(
                source,
                f"week {spec.week} out of range: 0 to {arms[arm].run.steps} (run.steps) or 'final'",
                key=f"{where}.week",
            )
    week = None if spec.week == "final" else int(spec.week)
    suffix = "" if week is None else f"@{week}"
    if spec.difference:
        name = spec.name or f"{spec.difference[0]}-{spec.difference[1]}.{spec.metric}{suffix}"
        first, second = spec.difference
        return [Output(name, spec.metric, week, None, (first, second))]
    outputs = []
    for arm in used:
        default = f"{arm}.{spec.metric}{suffix}" if named else f"{spec.metric}{suffix}"
        if spec.name and len(used) > 1:
            raise SweepError(
                source, "name needs an arm (this output has one column per arm)", key=where
            )
        outputs.append(Output(spec.name or default, spec.metric, week, arm, None))
    return outputs


def _check_design(spec: SweepFile, source: str) -> None:
    """The design's settings: only those it reads, and those it needs."""
    design = spec.design
    allowed = DESIGN_SETTINGS[design.kind]
    for key in design.model_fields_set - {"kind"}:
        if key not in allowed:
            words = ", ".join(allowed) if allowed else "no settings"
            raise SweepError(source, f"{design.kind} takes {words}", key=f"design.{key}")
    if design.kind in ("latin_hypercube", "sobol") and design.n is None:
        raise SweepError(source, f"{design.kind} needs n (points)", key="design.n")
    if design.kind == "sobol" and design.n is not None and design.n & (design.n - 1):
        raise SweepError(
            source,
            f"invalid value {design.n}: Saltelli sampling needs a power of "
            "two (1, 2, 4, ... 1024 ...)",
            key="design.n",
        )
    if design.kind == "morris" and design.trajectories is None:
        raise SweepError(source, "morris needs trajectories", key="design.trajectories")
    if design.kind in ("morris", "sobol") and len(spec.parameters) < 2:
        raise SweepError(source, f"{design.kind} needs at least two parameters", key="parameters")


def point_count(sweep: Sweep) -> int:
    """How many points the design has (before it is generated)."""
    d, k = sweep.design, len(sweep.parameters)
    if d.kind == "grid":
        return math.prod(len(p.grid(sweep.steps.get(p.key))) for p in sweep.parameters)
    # Checked by _check_design: latin_hypercube and sobol have n, morris has trajectories.
    if d.kind == "morris":
        assert d.trajectories is not None
        return d.trajectories * (k + 1)
    assert d.n is not None
    if d.kind == "latin_hypercube":
        return d.n
    return d.n * (2 * k + 2 if d.second_order else k + 2)


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; raise SweepError (one line) naming the first problem."""
    path = Path(path)
    source = str(path)
    data = read_toml(path, SweepError, kind="sweep")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        key, message = _first_error(exc)
        raise SweepError(source, message, key=key) from None
    folder = path.parent
    if spec.base.scenario is None and not spec.arms:
        raise SweepError(
            source, "name a scenario file (or give [arms] with scenario files)", key="base.scenario"
        )
    arm_refs = spec.arms or {"": spec.base}
    arms = {
        name: _load_arm(ref, spec.base, folder, source, f"arms.{name}" if name else "base")
        for name, ref in arm_refs.items()
    }
    if not spec.arms:
        arms = {arms[""].name: arms[""]}
    if not spec.parameters:
        raise SweepError(source, "give at least one parameter to vary", key="parameters")
    if not spec.outputs:
        raise SweepError(
            source, "give at least one output ([[outputs]] with a metric)", key="outputs"
        )
    _check_design(spec, source)
    parameters = [
        _parameter(key, p, spec.design.kind, source) for key, p in spec.parameters.items()
    ]
    swept = {p.key for p in parameters}
    for parameter in parameters:
        clash = sorted(
            {k for settings in (parameter.also or {}).values() for k in settings} & swept
        )
        if clash:
            raise SweepError(
                source, f"also sets {', '.join(clash)}, which the sweep varies: set it in one "
                "place", key=f"parameters.{parameter.key}",
            )
        _check_values(parameter, arms, source)
    outputs = [
        o for i, s in enumerate(spec.outputs) for o in _output(i, s, arms, bool(spec.arms), source)
    ]
    names = [o.name for o in outputs]
    clash = sorted(
        {n for n in names if names.count(n) > 1} | ({p.key for p in parameters} & set(names))
    )
    if clash:
        raise SweepError(
            source,
            f"output names must be unique: {', '.join(clash)} (set name = ...)",
            key="outputs",
        )
    sweep = Sweep(
        name=spec.name or path.stem,
        description=spec.description,
        seed=spec.seed,
        replicates=spec.replicates,
        arms=arms,
        named_arms=bool(spec.arms),
        parameters=parameters,
        steps={key: p.steps for key, p in spec.parameters.items()},
        outputs=outputs,
        design=spec.design,
        source=source,
    )
    total = point_count(sweep)
    if total > MAX_POINTS:
        raise SweepError(source, f"{total} points: at most {MAX_POINTS:,}", key="design")
    return sweep
