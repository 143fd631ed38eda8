"""Sharded runs: a population split into shards of whole blocks that exchange only the pool.

MODEL.md section 6: a population is a set of communities; interaction outside one's community
goes only through the small weekly global pool, so a population can be split into shards of
whole communities that exchange only the pool each week, and "a sharded run on a distributed
engine must give the same numbers as a single-process run with the same seed". Here it does, bit
for bit (tests/test_sharding.py), because

- every random number is keyed by global ids (slot, community), not by a shard's local index
  (population.Population.slot_offset, community_offset);
- a shard holds whole *blocks* (core.blocks.block_layout of the whole population), so every per-block
  sum is the same sum, and the coordinator adds the blocks in the same order;
- the pool is gathered per shard in community order and concatenated in shard order, which is the
  single-process pool, and every shard sees all of it;
- an expert class that spans shards is summed in slot order across them (experts.class_partials
  carries the running total from one shard to the next).

Each week the coordinator (`ShardedRun`) asks every shard for arrivals and its part of the pool,
sends back the whole pool (and the class summaries in the class format), and collects per-block
sums and histograms: the pool is 2 float32 per community (8 MB at 10^9 agents in communities of
1,000), the sums about 8 kB per block. Shards run as plain objects in this process (tests,
small runs) or as Dask actors (`dask.distributed`), one per worker process, so a population
larger than one machine's memory can be spread over the workers of a cluster. Study groups
(their own kernel, study_groups.py) are not sharded yet.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import contextmanager
from itertools import pairwise

import numpy as np
import pandas as pd

from ..config.errors import ScenarioError
from ..config.schema import Scenario
from ..core.aggregates import METRIC_NAMES
from ..core.blocks import N_EXPERT, block_arrays, block_layout
from ..core.counter_rng import STREAM_STEP, key_for
from ..core.population import allocate, arrive, community_layout, initialise
from ..kernels import peer_week
from ..kernels.bundles import BlockSums
from ..kernels.experts import Classes, class_partials
from ..kernels.pool import Pool, ordered_pool, pool_part
from ..structures.expert_arrangement import ExpertArrangement
from ..structures.peer_learning import run_week, sort_pool, step_rules, summarise, week_metrics
from . import memory


def shard_blocks(scenario: Scenario, shards: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The whole population's block layout and each shard's range of blocks (about equal slots)."""
    pop = scenario.population
    start, _ = community_layout(pop.size, pop.community_size, pop.arrival_rate, scenario.run.steps)
    blocks = block_layout(start.size - 1, int(start[-1]))
    n_blocks = blocks.size - 1
    shards = max(1, min(int(shards), n_blocks))
    # Cut at the blocks whose first slot is nearest to equal shares of the slots.
    block_slots = start[blocks]
    cuts = [0]
    for s in range(1, shards):
        target = block_slots[-1] * s / shards
        cut = int(np.searchsorted(block_slots, target))
        cuts.append(min(max(cut, cuts[-1] + 1), n_blocks - (shards - s)))
    cuts.append(n_blocks)
    return blocks, list(pairwise(cuts))


class Shard:
    """The state of a range of whole blocks, and the week's kernels run on it."""

    def __init__(self, scenario: Scenario, seed: int, first_block: int, end_block: int, check_memory: bool = True):
        self.scenario = scenario
        self.seed = int(seed)
        pop = scenario.population
        blocks, _ = shard_blocks(scenario, 1)
        first, end = int(blocks[first_block]), int(blocks[end_block])
        start, _ = community_layout(pop.size, pop.community_size, pop.arrival_rate, scenario.run.steps)
        if check_memory:  # refuse, in one line, a shard this worker cannot hold (before allocating it)
            memory.check(scenario, share=float(start[end] - start[first]) / float(start[-1]))
        self.population = allocate(pop.size, pop.community_size, pop.arrival_rate, scenario.run.steps, (first, end))
        initialise(self.population, scenario, self.seed)
        self.blocks = blocks[first_block:end_block + 1] - first
        self.stats, self.histogram = block_arrays(self.blocks)
        self.sums = BlockSums(self.stats, self.histogram)

    def summary(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-block sums and histograms of the current state (before the first week)."""
        summarise(self.population, self.blocks, self.stats, self.histogram)
        return self.stats.copy(), self.histogram.copy()

    def arrive(self, step: int) -> int:
        return arrive(self.population, self.scenario, self.seed, step)

    def pool(self, step: int) -> np.ndarray:
        return pool_part(self.population, self.seed, step, self.scenario.levels.pool_per_community)

    def class_partials(self, class_span: int, capacity: int, carry_total: float, carry_count: int):
        p = self.population
        return class_partials(p.skill, p.flags, np.int64(p.slot_offset), np.int64(class_span), np.int64(capacity),
                              float(carry_total), np.int64(carry_count))

    def week(self, step: int, pool: Pool, classes: Classes,
             rules: peer_week.StepRules) -> tuple[np.ndarray, np.ndarray]:
        """One week of the weekly kernel on this shard; its per-block sums and histograms."""
        p = self.population
        run_week(p, self.blocks, pool, classes, key_for(self.seed, STREAM_STEP, step), rules,
                 self.sums)
        p.swap()
        return self.stats.copy(), self.histogram.copy()

    def state(self) -> dict[str, np.ndarray]:
        """This shard's agent state (skill, motivation, flags) for checks and analysis."""
        p = self.population
        return {"skill": p.skill.copy(), "motivation": p.motivation.copy(), "flags": p.flags.copy()}


class ShardedRun:
    """A scenario run over `shards` shards: the same weekly metrics as PeerLearningModel, bit for bit.

    Args:
        scenario: a validated Scenario (study_groups is not supported).
        seed: seed of the counter-based random numbers (default: run.seed).
        shards: number of shards (at most the number of blocks).
        client: a dask.distributed Client: each shard becomes an actor on its workers. Without
            one the shards are plain objects in this process (the same numbers, no distribution).
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, shards: int = 2, client=None):
        if not scenario.structure.shardable:
            raise ScenarioError(
                "program.structure", f"{scenario.program.structure} cannot be sharded yet: run it in one process"
            )
        self.scenario = scenario
        self.seed = scenario.run.seed if seed is None else int(seed)
        self.blocks, self.ranges = shard_blocks(scenario, shards)
        pop = scenario.population
        start, _ = community_layout(pop.size, pop.community_size, pop.arrival_rate, scenario.run.steps)
        self.capacity = int(start[-1])
        self.first_slots = [int(start[self.blocks[b0]]) for b0, _ in self.ranges]  # each shard's slot 0
        self.arrangement = ExpertArrangement.for_scenario(scenario, self.capacity)
        self.client = client
        if client is None:
            memory.check(scenario)  # all shards in this process
            self.shards = [Shard(scenario, self.seed, b0, b1, check_memory=False) for b0, b1 in self.ranges]
        else:
            futures = [client.submit(Shard, scenario, self.seed, b0, b1, actor=True, pure=False)
                       for b0, b1 in self.ranges]
            self.shards = [f.result() for f in futures]
        self.steps = 0
        self.arrivals = 0
        self.metrics = week_metrics(scenario, self.arrangement, *self._gather("summary"), 0, 0.0)
        self.records = [self.metrics]

    # -- calling every shard (in parallel when they are actors) -------------------------------
    def _call_all(self, method: str, *args) -> list:
        calls = [getattr(shard, method)(*args) for shard in self.shards]
        return [c.result() for c in calls] if self.client is not None else calls

    def _gather(self, method: str, *args) -> tuple[np.ndarray, np.ndarray]:
        """Per-block sums and histograms of every shard, stacked in block order."""
        parts = self._call_all(method, *args)
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])

    def _class_summary(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean skill and active size of every class, summed in slot order across the shards."""
        arr = self.arrangement
        totals = np.zeros(arr.classes)
        counts = np.zeros(arr.classes, dtype=np.int64)
        carry_total, carry_count, carry_class = 0.0, 0, -1
        for shard, slot in zip(self.shards, self.first_slots, strict=True):  # in order: sums carry on
            if slot // arr.class_span != carry_class:  # this shard's first class begins here
                carry_total, carry_count = 0.0, 0
            call = shard.class_partials(arr.class_span, self.capacity, carry_total, carry_count)
            first, t, c = call.result() if self.client is not None else call
            totals[first:first + t.size] = t
            counts[first:first + c.size] = c
            carry_total, carry_count, carry_class = float(t[-1]), int(c[-1]), first + t.size - 1
        mean = np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)
        return mean, counts

    # -- one week --------------------------------------------------------------------------------
    def step(self) -> None:
        """One week: arrivals, the pool, class summaries, the weekly kernel on every shard."""
        self.steps += 1
        t, sc, arr = self.steps, self.scenario, self.arrangement
        self.arrivals += sum(self._call_all("arrive", t))
        members = np.concatenate(self._call_all("pool", t))
        pool = Pool(members, ordered_pool(members, sort=sort_pool(sc)))
        classes_taught = 0
        class_mean, class_count = np.zeros(arr.classes), np.zeros(arr.classes, dtype=np.int64)
        if arr.mode == peer_week.EXPERTS_CLASS:
            class_mean, class_count = self._class_summary()
            classes_taught = int(np.count_nonzero(class_count))
        rules = step_rules(sc, arr, self.metrics["active"], self.metrics["mean_skill"])
        stats, histogram = self._gather("week", t, pool, Classes(class_mean, class_count), rules)
        sessions = float(stats[:, N_EXPERT].sum())
        self.metrics = week_metrics(sc, arr, stats, histogram, t, arr.hours(classes_taught, sessions))
        self.records.append(self.metrics)

    def run(self, steps: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Run `steps` weeks (default: the rest of run.steps), calling progress(week) after each."""
        for _ in range(steps if steps is not None else self.scenario.run.steps - self.steps):
            self.step()
            if progress is not None:
                progress(self.steps)

    def metrics_frame(self) -> pd.DataFrame:
        """Per-week metrics, with the columns of PeerLearningModel.metrics_frame()."""
        bands = [f"band_{k}" for k in range(self.scenario.metrics.bands)]
        return pd.DataFrame(self.records)[["step", *METRIC_NAMES, *bands]]

    def state(self) -> dict[str, np.ndarray]:
        """The whole population's agent state, shards concatenated in slot order."""
        parts = self._call_all("state")
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


@contextmanager
def cluster(workers: int, scheduler: str | None = None):
    """A dask.distributed Client: of the cluster at `scheduler`, or of a local one of `workers`.

    A local cluster runs one single-threaded worker process per shard, each with an equal share
    of this machine's cores for numba (NUMBA_NUM_THREADS; ENVIRONMENT.md: numba ignores
    OMP_NUM_THREADS). Raises ScenarioError (one line in the CLI) if the scheduler cannot be reached.
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as error:
            raise ScenarioError("--scheduler", f"cannot connect to {scheduler!r}: {error}") from None
        with client:
            yield client
        return
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    environ = {"distributed.nanny.pre-spawn-environ": {"NUMBA_NUM_THREADS": str(threads)}}
    with (
        dask.config.set(environ),
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                     silence_logs=logging.ERROR) as local,
        Client(local) as client,
    ):
        yield client
