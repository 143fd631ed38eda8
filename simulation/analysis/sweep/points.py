"""Running one point of a sweep: every arm and replicate, reduced to the sweep's outputs.

This is what a worker process does with each point it is sent. A point's numbers depend only on
the sweep and the point (its scenarios and the seeds seed + r), never on which worker runs it,
in which batch or order, so a sweep's results are the same bytes on any number of workers.
"""

from __future__ import annotations

import gc
import math
from typing import Any

import numpy as np

from ...config.schema import Scenario
from ...core.aggregates import cohort_metrics
from ...model import PeerLearningModel
from ...scale import memory
from .spec import SUMMARIES, Sweep
from .store import encode, point_table

# Above this many agents a finished model is freed at once (a mesa.Model sits in reference
# cycles, so only the cycle collector frees its arrays; runner.run_scenario does the same).
COLLECT_ABOVE = 10**6


class Recorder:
    """Stands in for the model's DataCollector: keeps only the values a sweep's outputs read.

    PeerLearningModel calls `datacollector.collect(model)` after every week; Mesa's collector
    deep-copies every metric every week (about 2 ms of a 20 ms run at 10^4 agents), while a
    sweep needs a few numbers per run. The values are the model's own weekly `metrics`.
    """

    def __init__(self, weekly: set[tuple[str, int]], sums: dict[str, str]):
        self.weekly = weekly  # (metric, week) pairs wanted
        self.sums = sums  # summary name -> weekly metric summed over the weeks
        self.values: dict[tuple[str, int], float] = {}
        self.series: dict[str, list[float]] = {m: [] for m in set(sums.values())}

    def collect(self, model: PeerLearningModel) -> None:
        """Record this week's wanted values (called by PeerLearningModel.step)."""
        metrics = model.metrics
        week = int(metrics["step"])
        for metric, wanted in self.weekly:
            if wanted == week:
                self.values[(metric, week)] = float(metrics[metric])
        for metric, series in self.series.items():
            series.append(float(metrics[metric]))

    def value(self, metric: str, week: int) -> float:
        """A metric at a week, or a summary up to that week (math.fsum: exactly rounded)."""
        if metric in self.sums:
            return math.fsum(self.series[self.sums[metric]][: week + 1])
        return self.values[(metric, week)]


class PointRunner:
    """Runs points of one sweep; built once per worker process (the kernels load once too)."""

    def __init__(self, sweep: Sweep, overrides: list[dict[str, Any]]):
        self.sweep = sweep
        self.overrides = overrides
        # Only the arms some output reads are run.
        self.arms = [arm for arm in sweep.arms if any(arm in o.arms for o in sweep.outputs)]

    def _wanted(self, arm: str, scenario: Scenario) -> tuple[set[tuple[str, int]], dict[str, str]]:
        weekly, sums = set(), {}
        for output in self.sweep.outputs:
            if arm not in output.arms:
                continue
            week = scenario.run.steps if output.week is None else output.week
            if output.metric in SUMMARIES:
                sums[output.metric] = SUMMARIES[output.metric][0]
            else:
                weekly.add((output.metric, week))
        return weekly, sums

    def run_arm(
        self, scenario: Scenario, arm: str, seed: int
    ) -> dict[tuple[str, int | None], float]:
        """One run: an arm's scenario at a point, with one seed; the outputs' values."""
        weekly, sums = self._wanted(arm, scenario)
        recorder = Recorder(weekly, sums)
        # The cohort pass only in the weeks an output reads one of its metrics (every week if a
        # summary sums one): the other weeks' cohort metrics are NaN and never read.
        cohort = set(cohort_metrics(scenario.metrics.bands))
        weeks = None if cohort & set(sums.values()) else {w for m, w in weekly if m in cohort}
        with memory.recent_readings():  # dozens of small models a second: one reading serves
            model = PeerLearningModel(scenario, seed=seed, cohort_weeks=weeks)
        recorder.collect(model)  # week 0 (the model recorded it on creation)
        model.datacollector = recorder
        model.run()
        values = {}
        for output in self.sweep.outputs:
            if arm in output.arms:
                week = scenario.run.steps if output.week is None else output.week
                values[(output.metric, output.week)] = recorder.value(output.metric, week)
        if scenario.population.size > COLLECT_ABOVE:
            del model
            gc.collect()
        return values

    def encoded(self, point: int) -> bytes:
        """A point's part file: its outputs with its parameters, as Parquet bytes (store.py).

        Encoded here, in the worker, so the coordinator only writes files and the encoding runs
        on every worker at once.
        """
        return encode(point_table(self.sweep, self.overrides[point], point, self.run(point)))

    def run(self, point: int) -> np.ndarray:
        """The outputs of every run of a point: shape (members x replicates, outputs), float64.

        Rows are member-major: every replicate of the first member (or of the scenarios' own
        parameters, without an ensemble), then of the next.
        """
        sweep = self.sweep
        result = np.empty((sweep.members * sweep.replicates, len(sweep.outputs)), dtype=np.float64)
        for m, member in enumerate(sweep.ensemble or (None,)):
            rows = slice(m * sweep.replicates, (m + 1) * sweep.replicates)
            result[rows] = self._replicates(point, member)
        return result

    def _replicates(self, point: int, member: dict[str, Any] | None) -> np.ndarray:
        """Every replicate of a point under one member (None: no ensemble)."""
        sweep = self.sweep
        result = np.empty((sweep.replicates, len(sweep.outputs)), dtype=np.float64)
        scenarios = {
            arm: sweep.scenario(arm, self.overrides[point], member) for arm in self.arms
        }
        for r, seed in enumerate(sweep.seeds):
            # Every arm of a replicate shares its seed: differences between arms are the
            # mechanism, not the draws (common random numbers).
            per_arm = {arm: self.run_arm(scenarios[arm], arm, seed) for arm in self.arms}
            for j, output in enumerate(sweep.outputs):
                key = (output.metric, output.week)
                if output.difference:
                    a, b = output.difference
                    result[r, j] = per_arm[a][key] - per_arm[b][key]
                else:
                    (arm,) = output.arms
                    result[r, j] = per_arm[arm][key]
        return result
