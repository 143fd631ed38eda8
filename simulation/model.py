"""PeerLearningModel: the expertise pyramid as a Mesa model over numba arrays.

The model holds its population as arrays (core/population.py), never as mesa.Agent objects, and
advances it with its structure's weekly engine (structures/), which runs the numba kernels
(kernels/). Its DataCollector records aggregates only, so `mesa.batch_run` and Mesa's SolaraViz
work with it as with any Mesa model.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mesa

from .config.errors import ScenarioError
from .config.loading import load
from .config.schema import Scenario
from .core.aggregates import METRIC_NAMES, band_columns
from .core.blocks import block_arrays, block_layout
from .core.population import allocate, arrive, initialise
from .core.state import StateValue, number, restore_array
from .scale import environment, memory
from .scale.checkpoint import prefixed, read_part, write_part

if TYPE_CHECKING:
    from collections.abc import Collection

    import pandas as pd


def _coerce_seed(seed: Any) -> int | None:
    """Seeds arrive as text from dashboard boxes; accept whole numbers only."""
    if seed is None or seed == "":
        return None
    message = f"invalid value {seed!r}: allowed a whole number from 0 to 2**62"
    try:
        value = int(str(seed).strip())
    except ValueError:
        raise ScenarioError("seed", message) from None
    if not 0 <= value <= 2**62:
        raise ScenarioError("seed", message)
    return value


class PeerLearningModel(mesa.Model):
    """An expertise pyramid of learners who learn from peers and experts, one week per step.

    Args:
        scenario: a validated Scenario, a path to a TOML scenario file, or None for the defaults.
        structure: override of program.structure (a registered structure, e.g. 'peer_only').
        population: override of population.size.
        responsiveness: override of program.responsiveness (0-2).
        agency: override of program.agency (0-2).
        connectivity: override of program.connectivity (0-2).
        optimal_gap: override of learning.optimal_gap.
        experts: override of experts.count.
        seed: seed of the counter-based random numbers (default: run.seed of the scenario).
        overrides: further overrides as {'section.key': value}.
        cohort_weeks: the only weeks whose "who is left behind" metrics (intention to treat, by
            starting band; core.aggregates.cohort_metrics) are computed, NaN in the others;
            None (the default) computes them every week. Sweeps that read none of them skip
            that pass (docs/performance.md, section 5).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        structure: str | None = None,
        population: int | None = None,
        responsiveness: int | None = None,
        agency: int | None = None,
        connectivity: int | None = None,
        optimal_gap: float | None = None,
        experts: int | None = None,
        seed: int | str | None = None,
        overrides: dict[str, Any] | None = None,
        cohort_weeks: Collection[int] | None = None,
    ):
        if scenario is None:
            scenario = Scenario()
        elif isinstance(scenario, (str, PathLike)):
            scenario = load(scenario)
        elif not isinstance(scenario, Scenario):
            raise ScenarioError(
                "scenario", f"invalid value {scenario!r}: allowed a Scenario, the path of a "
                "scenario file (TOML), or None for the defaults",
            )
        named = {
            "program.structure": structure,
            "population.size": population,
            "program.responsiveness": responsiveness,
            "program.agency": agency,
            "program.connectivity": connectivity,
            "learning.optimal_gap": optimal_gap,
            "experts.count": experts,
        }
        changes = {k: v for k, v in named.items() if v is not None}
        changes.update(overrides or {})
        if changes:
            scenario = scenario.with_overrides(changes, source="model parameters")
        for variable, problem in environment.PROBLEMS:  # found at import (scale/environment.py)
            raise ScenarioError(variable, problem)
        seed_value = _coerce_seed(seed)
        if seed_value is None:
            seed_value = scenario.run.seed
        super().__init__(seed=seed_value)
        self.scenario = scenario
        self.seed = seed_value
        run, pop = scenario.run, scenario.population
        memory.check(scenario)  # refuse, in one line, a population this machine cannot hold
        self.population = allocate(pop.size, pop.community_size, pop.arrival_rate, run.steps)
        initialise(self.population, scenario, seed_value)
        self.blocks = block_layout(self.population.communities, self.population.capacity)
        self._stats, self._histogram = block_arrays(self.blocks)
        self.arrivals = 0
        # The structure's weekly rules (simulation/structures/): the peer step with or without
        # experts, or study groups.
        self.structure = scenario.structure
        self.engine = self.structure.engine(
            self.population, scenario, seed_value, self.blocks, self._stats, self._histogram
        )
        if cohort_weeks is not None:  # only these weeks' cohort metrics are wanted (sweeps)
            self.engine.cohort_weeks = frozenset(int(w) for w in cohort_weeks)
        self.metrics = self.engine.start()
        bands = {name: _reporter(name) for name in band_columns(scenario.metrics.bands)}
        names = ("step", *METRIC_NAMES, *self.structure.metric_names)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _reporter(name) for name in names} | bands
        )
        self.datacollector.collect(self)

    @property
    def arrangement(self):
        """How designated experts reach the learners (structures/expert_arrangement.py)."""
        return self.engine.arrangement

    # ------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One week: arrivals, then the structure's synchronous weekly kernel."""
        t = self.steps  # Mesa has already counted this step
        pop = self.population
        self.arrivals += arrive(pop, self.scenario, self.seed, t)
        self.engine.week(t)
        pop.swap()
        self.metrics = self.engine.metrics(t)
        self.datacollector.collect(self)
        if self.steps >= self.scenario.run.steps:
            self.running = False

    # ------------------------------------------------------------------------------------------
    def run(self, steps: int | None = None, progress=None) -> None:
        """Run `steps` weeks (default: the scenario's run.steps), calling progress(t) after each."""
        for _ in range(steps if steps is not None else self.scenario.run.steps - self.steps):
            self.step()
            if progress is not None:
                progress(self.steps)

    def metrics_frame(self):
        """Per-week aggregates as a DataFrame (one row per step, from step 0)."""
        return self.datacollector.get_model_vars_dataframe()

    # ------------------------------------------------------------------------------------------
    # Checkpoints (scale/checkpoint.py): the population's arrays, the per-block sums, the week,
    # the arrivals and the engine's own state; the metrics recorded so far travel beside them.
    def state(self) -> dict[str, StateValue]:
        """Everything the next week reads, as named arrays (not copied) and numbers."""
        out: dict[str, StateValue] = {
            f"population.{k}": v for k, v in self.population.state().items()
        }
        out |= {"blocks.stats": self._stats, "blocks.histogram": self._histogram,
                "model.steps": int(self.steps), "model.arrivals": int(self.arrivals)}
        return out | {f"engine.{k}": v for k, v in self.engine.state().items()}

    def restore(self, state: dict[str, StateValue], records: pd.DataFrame) -> None:
        """Take back a `state()` and the weekly metrics recorded until then (weeks 0 to now).

        Raises ValueError if they do not fit this model (another scenario or layout).
        """
        steps = int(number("model.steps", state["model.steps"]))
        if list(records.get("step", [])) != list(range(steps + 1)):
            raise ValueError(f"the recorded metrics are not those of weeks 0 to {steps}")
        self.population.restore(prefixed(state, "population."))
        restore_array(self._stats, state["blocks.stats"], "blocks.stats")
        restore_array(self._histogram, state["blocks.histogram"], "blocks.histogram")
        self.engine.restore(prefixed(state, "engine."))
        self.steps = steps
        self.arrivals = int(number("model.arrivals", state["model.arrivals"]))
        # The DataCollector's columns, as collect() built them (plain ints and floats).
        self.datacollector.model_vars = {
            name: records[name].tolist() for name in self.datacollector.model_vars
        }
        self.metrics = {name: values[-1] for name, values in
                        self.datacollector.model_vars.items()}
        self.running = self.steps < self.scenario.run.steps

    def write_checkpoint(self, folder: Path) -> list[str]:
        """Write the state as one part, `model/`, of a checkpoint folder."""
        write_part(Path(folder) / "model", self.state())
        return ["model"]

    def read_checkpoint(self, folder: Path, records: pd.DataFrame) -> None:
        """Restore the part written by `write_checkpoint` and the metrics recorded so far."""
        self.restore(read_part(Path(folder) / "model"), records)

    def checkpointed(self, folder: Path, week: int) -> None:
        """Nothing to note: a model in one process has no shard to restart."""


def _reporter(name: str):
    def report(model: PeerLearningModel):
        return model.metrics[name]

    report.__name__ = name
    return report
