"""What a program structure is: one declaration that every part of the package reads.

The model, CLI, runner, figures, memory guard, sharding and dashboard all read it, so that none
of them compares structure names.

A structure module (one file in simulation/structures/) defines `STRUCTURE = Structure(...)`; the
registry (simulation/structures/__init__.py) finds it. What a new structure must provide:

- `engine`: a class following `Engine` below, which runs one week of the structure's rules over
  the population's arrays with numba kernels (simulation/kernels/) and reports the week's metrics;
- `memory`: the bytes its own arrays need, beside the population's (for the memory guard);
- what it reports: its own weekly `metrics` (name -> meaning; declared next to the code that
  computes them), `summary_rows` for summaries and comparison tables, a row of `figure_panels`
  for the results figure, and the `dashboard_panels` the page shows;
- whether it has peer teaching (`peers`), designated experts (`experts`, with the format `auto`
  resolves to) and which schema sections it reads (`sections`: the dashboard shows their controls
  only for this structure);
- whether it can be sharded (`shardable`);
- its state for checkpoints: the engine's `state()` and `restore()`. An engine declares the
  attributes that carry over from week to week in `STATE` (`EngineState` below saves and
  restores them), so new engine state is checkpointed by naming it there, with no change to the
  checkpoint code (simulation/scale/checkpoint.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from ..core.state import StateValue, number, restore_array

if TYPE_CHECKING:
    from ..config.schema import Scenario
    from ..core.population import Population


class Layout(NamedTuple):
    """The sizes a memory estimate needs, computed without allocating anything."""

    size: int  # learners at the start
    communities: int
    slots: int  # agent slots, reserved arrivals included
    blocks: int
    largest_community: int  # slots of the largest community


class FigurePanel(NamedTuple):
    """One panel of the results figure: a metric over time."""

    column: str
    title: str
    ylabel: str
    companion: str | None = None  # a second metric drawn dashed in the same colour


class Engine(Protocol):
    """The weekly rules of a structure over one population (called by model.PeerLearningModel).

    Created once per run; `start` records week 0 (the initial state) and `week` advances one
    week, writing next week's state into the population's `*_next` arrays (the model swaps the
    buffers) and this week's per-block sums into `stats` and `histogram`; `metrics` then gives
    the week's metrics (core.aggregates.METRICS, the bands, then the structure's own).

    `cohort_weeks`: the weeks whose cohort pass (kernels/cohort.py) runs, None for every week
    (the default); in the other weeks the cohort metrics are NaN. Set by the model before
    `start` (a sweep that reads no cohort metric skips the pass).
    """

    cohort_weeks: frozenset[int] | None

    def __init__(self, population: Population, scenario: Scenario, seed: int, blocks: np.ndarray,
                 stats: np.ndarray, histogram: np.ndarray) -> None: ...

    def start(self) -> dict[str, Any]:
        """Week 0: summarise the initial state; return its metrics."""
        ...

    def week(self, step: int) -> None:
        """Run week `step` into the `*_next` arrays and the per-block sums."""
        ...

    def metrics(self, step: int) -> dict[str, Any]:
        """The metrics of week `step`, from the per-block sums."""
        ...

    def completed(self) -> np.ndarray | None:
        """Per agent slot: whether the agent completed the structure's course (None: no course)."""
        ...

    def state(self) -> dict[str, StateValue]:
        """Everything the next week reads that the population's arrays do not hold, by name."""
        ...

    def restore(self, state: dict[str, StateValue]) -> None:
        """Take back what `state()` gave (of an engine made for the same scenario and seed)."""
        ...


class EngineState:
    """`state()` and `restore()` from a declaration: the attributes named in `STATE`.

    An attribute holding a numpy array is saved as the array and restored in place (its dtype
    and shape must match: the engine was made for the same scenario); one holding a number is
    saved as the number. After a restore, `restored()` rebuilds anything derived from the state
    (e.g. rules computed from a restored number). Arrays rebuilt every week before they are read
    (scratch space) need not be declared.
    """

    STATE: tuple[str, ...] = ()

    def state(self) -> dict[str, StateValue]:
        """The declared attributes by name; arrays are not copied (save them before next week)."""
        out: dict[str, StateValue] = {}
        for name in self.STATE:
            value = getattr(self, name)
            out[name] = value if isinstance(value, np.ndarray) else number(name, value)
        return out

    def restore(self, state: dict[str, StateValue]) -> None:
        """Copy the saved values back (arrays in place), then rebuild what derives from them."""
        missing = [name for name in self.STATE if name not in state]
        if missing:
            raise ValueError(f"no saved value of {', '.join(missing)}")
        for name in self.STATE:
            current, saved = getattr(self, name), state[name]
            if isinstance(current, np.ndarray):
                restore_array(current, saved, name)
            else:
                setattr(self, name, type(current)(number(name, saved)))
        self.restored()

    def restored(self) -> None:
        """Rebuild what derives from the restored state (nothing by default)."""


def no_memory(scenario: Scenario, layout: Layout) -> dict[str, int]:
    """A structure without arrays of its own."""
    return {}


@dataclass(frozen=True, eq=False)  # one object per structure: compared and hashed by identity
class Structure:
    """A program structure: who teaches whom, and everything downstream needs to know about it."""

    name: str
    label: str  # what it models, in one line (dashboard, docs)
    engine: type
    peers: bool  # learners learn from and teach each other in the weekly peer step
    experts: bool  # designated experts teach
    expert_format: str = "none"  # the format experts.format = "auto" resolves to
    sections: tuple[str, ...] = ()  # schema sections it reads beyond the common ones
    # Its own weekly metrics: name -> meaning.
    metrics: Mapping[str, str] = field(default_factory=dict)
    summary_rows: Mapping[str, str] = field(default_factory=dict)  # metric -> label in summaries
    figure_panels: tuple[FigurePanel, ...] = ()  # an extra row of the results figure
    dashboard_panels: tuple[str, ...] = ()  # dashboard panel names (simulation/dashboard/panels.py)
    completion_rule: str = ""  # what completing means, for structures with a course (trial reports)
    shardable: bool = False
    memory: Callable[[Scenario, Layout], dict[str, int]] = no_memory
    order: int = 100  # position in listings (CLI help, dashboard menus)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of its own weekly metrics, in their declared order."""
        return tuple(self.metrics)
