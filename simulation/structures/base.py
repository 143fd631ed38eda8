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
- whether it can be sharded (`shardable`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

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
    """

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
