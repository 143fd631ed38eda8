"""Sharded runs: a population split into shards of whole blocks that exchange only the pool.

docs/ODD.md, section 7.9: a population is a set of communities; interaction outside one's community
goes only through the small weekly global pool, so a population can be split into shards of whole
communities that exchange only the pool each week, and "a sharded run on a distributed engine must
give the same numbers as a single-process run with the same seed". Here it does, bit for bit
(tests/test_sharding.py), because

- every random number is keyed by global ids (slot, community), not by a shard's local index
  (population.Population.slot_offset, community_offset);
- a shard holds whole *blocks* (core.blocks.block_layout of the whole population), so every
  per-block sum is the same sum, and the coordinator adds the blocks in the same order;
- the pool is gathered per shard in community order and concatenated in shard order, which is the
  single-process pool, and every shard sees all of it;
- an expert class that spans shards is summed in slot order across them (experts.class_partials
  carries the running total from one shard to the next).

Each week the coordinator (`ShardedRun`) asks every shard for arrivals and its part of the pool,
sends back the whole pool (and the class summaries in the class format), and collects per-block
sums and histograms: the pool is 2 float32 per community (8 MB at 10^9 agents in communities of
1,000; with strong tutors or dealt pool slots a byte or an int32 more per member), the sums
about 8 kB per block. Shards run as plain objects in this process (tests,
small runs) or as Dask actors (`dask.distributed`), one per worker process, so a population
larger than one machine's memory can be spread over the workers of a cluster. Study groups
(their own kernel, kernels/study_groups.py) are not sharded yet.

A worker process can die (killed, out of memory, its machine lost); its shards die with it. The
coordinator notices when a call to a shard fails, finds which shards no longer answer, starts
them again on a live (or the nanny's restarted) worker, puts every shard back to the last
checkpoint (scale/checkpoint.py; without one, to week 0, which the seed alone determines) and
runs the lost weeks again: the same numbers, since every random number is keyed by global ids and
the week. It gives up after `retries` restarts (WorkerLostError, one line).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

from ..config.errors import ScenarioError
from ..config.schema import Scenario
from ..core.aggregates import METRIC_NAMES, band_columns
from ..core.blocks import N_EXPERT, block_arrays, block_layout
from ..core.counter_rng import STREAM_STEP, key_for
from ..core.population import allocate, arrive, community_layout, initialise
from ..core.state import StateValue, number, restore_array
from ..kernels import peer_week
from ..kernels.bundles import BlockSums
from ..kernels.experts import NO_CONTACTS, Classes, class_partials
from ..kernels.pool import Pool, PoolPart, assemble_pool, pool_part
from ..structures.expert_arrangement import ExpertArrangement
from ..structures.peer_learning import (
    observe_cohort,
    run_week,
    step_rules,
    summarise,
    week_hours,
    week_metrics,
)
from . import memory
from .checkpoint import CheckpointError, prefixed, read_part, write_part

log = logging.getLogger(__name__)

# Seconds a shard has to answer "are you there?" after a call to some shard failed, and how long
# the scheduler gets to notice a dead worker before silent shards count as lost.
PING_SECONDS = 2.0
LOST_SECONDS = 30.0
# Seconds to wait for a live worker before a lost shard is started again.
WORKER_WAIT_SECONDS = 60.0


def _worker_addresses(dask_scheduler: Any) -> list[str]:
    """The addresses of the workers the scheduler knows to be alive (run on the scheduler)."""
    return list(dask_scheduler.workers)


def _answers(shard: Any) -> bool:
    """Whether a shard (a Dask actor) answers within PING_SECONDS."""
    try:
        return bool(shard.alive().result(timeout=PING_SECONDS))
    except Exception:  # a lost actor raises at once or its call never comes back
        return False


class WorkerLostError(ScenarioError):
    """Shards were lost more often than the run may restart them (or could not be restarted).

    `week` and `folder` say where a resumed run would start: the last checkpoint (folder) or,
    without one, week 0 (folder None).
    """

    def __init__(self, message: str, week: int, folder: Path | None):
        super().__init__("sharded run", message)
        self.week, self.folder = week, folder


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


# A local cluster's worker uses this many of numba's threads (`cluster`); unset elsewhere.
WORKER_THREADS = "PEERSCALE_WORKER_THREADS"


def _worker_threads(method: Callable) -> Callable:
    """Run a Shard method on the worker's share of numba's threads (set where it runs).

    numba's thread count cannot travel as NUMBA_NUM_THREADS: a worker imports numba before the
    nanny sets its environment (spawn imports the parent's main module first), and a pre-spawn
    variable is also written into the parent's own environment, where numba raises at its next
    compilation if the value differs from the threads it launched. numba.set_num_threads is
    per calling thread, so it is set on the thread that runs each call.
    """

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        wanted = os.environ.get(WORKER_THREADS)
        if wanted:
            launched = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
            numba.set_num_threads(max(1, min(int(wanted), launched)))
        return method(*args, **kwargs)

    return call


class Shard:
    """The state of a range of whole blocks, and the week's kernels run on it."""

    @_worker_threads
    def __init__(self, scenario: Scenario, seed: int, first_block: int, end_block: int,
                 check_memory: bool = True):
        self.scenario = scenario
        self.seed = int(seed)
        pop = scenario.population
        blocks, _ = shard_blocks(scenario, 1)
        first, end = int(blocks[first_block]), int(blocks[end_block])
        steps = scenario.run.steps
        start, _ = community_layout(pop.size, pop.community_size, pop.arrival_rate, steps)
        if check_memory:  # refuse, in one line, a shard this worker cannot hold (before allocating)
            memory.check(scenario, share=float(start[end] - start[first]) / float(start[-1]))
        self.population = allocate(
            pop.size, pop.community_size, pop.arrival_rate, steps, (first, end)
        )
        initialise(self.population, scenario, self.seed)
        self.blocks = blocks[first_block:end_block + 1] - first
        self.stats, self.histogram = block_arrays(self.blocks)
        self.sums = BlockSums(self.stats, self.histogram)

    @_worker_threads
    def summary(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-block sums and histograms of the current state (before the first week)."""
        summarise(self.population, self.blocks, self.stats, self.histogram)
        observe_cohort(self.population, self.blocks, self.stats, self.scenario, self.seed, 0,
                       after_week=False)
        return self.stats.copy(), self.histogram.copy()

    @_worker_threads
    def arrive(self, step: int) -> int:
        """This week's arrivals in this shard's communities; how many arrived."""
        return arrive(self.population, self.scenario, self.seed, step)

    @_worker_threads
    def pool(self, step: int) -> PoolPart:
        """This shard's part of the week's global pool, in community order."""
        return pool_part(self.population, self.scenario, self.seed, step)

    @_worker_threads
    def class_partials(
        self, class_span: int, capacity: int, carry_total: float, carry_count: int
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Active skill total and count of every class this shard overlaps.

        Returns the first class, the totals and the counts; the first class continues from the
        previous shard's running sums (kernels.experts.class_partials).
        """
        p = self.population
        return class_partials(
            p.skill, p.flags, np.int64(p.slot_offset), np.int64(class_span), np.int64(capacity),
            float(carry_total), np.int64(carry_count),
        )

    @_worker_threads
    def week(self, step: int, pool: Pool, classes: Classes,
             rules: peer_week.StepRules) -> tuple[np.ndarray, np.ndarray]:
        """One week of the weekly kernel on this shard; its per-block sums and histograms."""
        p = self.population
        run_week(p, self.blocks, pool, classes, key_for(self.seed, STREAM_STEP, step), rules,
                 self.sums)
        observe_cohort(p, self.blocks, self.stats, self.scenario, self.seed, step, after_week=True)
        p.swap()
        return self.stats.copy(), self.histogram.copy()

    def state(self) -> dict[str, np.ndarray]:
        """This shard's agent state (skill, motivation, flags) for checks and analysis."""
        p = self.population
        return {"skill": p.skill.copy(), "motivation": p.motivation.copy(), "flags": p.flags.copy()}

    # -- checkpoints and restarts (the coordinator calls these; scale/checkpoint.py) ----------
    def alive(self) -> bool:
        """Answer the coordinator's check after a failed call (a lost shard cannot)."""
        return True

    def save(self, folder: str) -> None:
        """Write this shard's state (population arrays, per-block sums) as a checkpoint part."""
        state: dict[str, StateValue] = {
            f"population.{k}": v for k, v in self.population.state().items()
        }
        write_part(folder, state | {"blocks.stats": self.stats, "blocks.histogram": self.histogram})

    @_worker_threads
    def load(self, folder: str) -> None:
        """Take back the state `save` wrote (CheckpointError, one line, if it does not fit)."""
        state = read_part(folder)
        try:
            self.population.restore(prefixed(state, "population."))
            restore_array(self.stats, state["blocks.stats"], "blocks.stats")
            restore_array(self.histogram, state["blocks.histogram"], "blocks.histogram")
        except (KeyError, ValueError) as error:
            raise CheckpointError(str(folder), f"does not fit this shard: {error}") from None

    @_worker_threads
    def reset(self) -> None:
        """Back to week 0: the initial state, which the seed alone determines."""
        p = self.population
        p.community_present[:] = p.community_initial
        initialise(p, self.scenario, self.seed)


class ShardedRun:
    """A scenario run over `shards` shards: PeerLearningModel's weekly metrics, bit for bit.

    Args:
        scenario: a validated Scenario (study_groups is not supported).
        seed: seed of the counter-based random numbers (default: run.seed).
        shards: number of shards (at most the number of blocks).
        client: a dask.distributed Client: each shard becomes an actor on its workers. Without
            one the shards are plain objects in this process (the same numbers, no distribution).
        retries: how often shards lost with their worker are started again before the run
            gives up (WorkerLostError).
    """

    def __init__(
        self, scenario: Scenario, seed: int | None = None, shards: int = 2, client: Any = None,
        retries: int = 3,
    ):
        if not scenario.structure.shardable:
            raise ScenarioError(
                "program.structure",
                f"{scenario.program.structure} cannot be sharded yet: run it in one process",
            )
        self.scenario = scenario
        self.seed = scenario.run.seed if seed is None else int(seed)
        self.blocks, self.ranges = shard_blocks(scenario, shards)
        pop = scenario.population
        steps = scenario.run.steps
        start, _ = community_layout(pop.size, pop.community_size, pop.arrival_rate, steps)
        self.capacity = int(start[-1])
        # Each shard's slot 0.
        self.first_slots = [int(start[self.blocks[b0]]) for b0, _ in self.ranges]
        self.arrangement = ExpertArrangement.for_scenario(scenario, self.capacity)
        self.client = client
        self.retries, self.recoveries = int(retries), 0
        self.shards: list[Any]  # Shard objects, or Dask actors of them (calls return futures)
        if client is None:
            memory.check(scenario)  # all shards in this process
            self.shards = [
                Shard(scenario, self.seed, b0, b1, check_memory=False) for b0, b1 in self.ranges
            ]
        else:
            futures = [client.submit(Shard, scenario, self.seed, b0, b1, actor=True, pure=False)
                       for b0, b1 in self.ranges]
            self.shards = [f.result() for f in futures]
        self.steps = 0
        self.arrivals = 0
        self.metrics = week_metrics(scenario, self.arrangement, *self._gather("summary"), 0, 0.0)
        self.records = [self.metrics]
        # Where lost shards restart: (week, arrivals until then, checkpoint folder or None).
        self._restart: tuple[int, int, Path | None] = (0, 0, None)

    # -- calling every shard (in parallel when they are actors) -------------------------------
    def _call_all(self, method: str, *args) -> list:
        return self._wait([getattr(shard, method)(*args) for shard in self.shards])

    def _wait(self, calls: list) -> list:
        """The results of calls made to every shard at once (futures, when shards are actors)."""
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
        # In shard order: a class's sums carry on from one shard to the next.
        for shard, slot in zip(self.shards, self.first_slots, strict=True):
            if slot // arr.class_span >= arr.classes:  # beyond the taught classes (a seat cap)
                break
            if slot // arr.class_span != carry_class:  # this shard's first class begins here
                carry_total, carry_count = 0.0, 0
            # With a client, the shard is an actor and the call returns a future.
            call: Any = shard.class_partials(
                arr.class_span, self.capacity, carry_total, carry_count
            )
            first, t, c = call.result() if self.client is not None else call
            keep = min(t.size, arr.classes - first)  # only the classes taught
            t, c = t[:keep], c[:keep]
            totals[first:first + t.size] = t
            counts[first:first + c.size] = c
            carry_total, carry_count, carry_class = float(t[-1]), int(c[-1]), first + t.size - 1
        mean = np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)
        return mean, counts

    # -- one week --------------------------------------------------------------------------------
    def step(self) -> None:
        """One week; if a worker was lost, its shards restart and the lost weeks run again."""
        target = self.steps + 1
        while self.steps < target:
            try:
                self._week()
            except Exception as error:
                if self.client is None or not self._recover(error):
                    raise

    def _at_this_week(self, action: Callable[[], Any]) -> Any:
        """Run `action` on the shards at this week, restarting lost shards and weeks if need be."""
        week = self.steps
        while True:
            try:
                return action()
            except Exception as error:
                if self.client is None or not self._recover(error):
                    raise
                while self.steps < week:
                    self.step()

    def _week(self) -> None:
        """One week: arrivals, the pool, class summaries, the weekly kernel on every shard."""
        t, sc, arr = self.steps + 1, self.scenario, self.arrangement
        arrivals = self.arrivals + sum(self._call_all("arrive", t))
        pool = assemble_pool(self._call_all("pool", t), sc, self.seed, t)
        classes_taught = 0
        class_mean, class_count = np.zeros(arr.classes), np.zeros(arr.classes, dtype=np.int64)
        if arr.mode == peer_week.EXPERTS_CLASS:
            class_mean, class_count = self._class_summary()
            classes_taught = int(np.count_nonzero(class_count))
        rules = step_rules(sc, arr, self.metrics["active"], self.metrics["mean_skill"], self.seed)
        classes = Classes(class_mean, class_count, NO_CONTACTS)
        stats, histogram = self._gather("week", t, pool, classes, rules)
        sessions = float(stats[:, N_EXPERT].sum())
        hours = week_hours(sc, arr, classes_taught, sessions, stats)
        # Only a week every shard completed counts (a failed one is run again from a checkpoint).
        self.steps, self.arrivals = t, arrivals
        self.metrics = week_metrics(sc, arr, stats, histogram, t, hours)
        self.records.append(self.metrics)

    # -- lost workers -------------------------------------------------------------------------
    def _lost(self) -> list[int]:
        """The shards whose worker is gone (none if the failure was of another kind).

        The scheduler's list of live workers says which workers died (the nanny reports a dead
        process at once); a shard that does not answer a short question within PING_SECONDS is
        counted as lost too, but only after the scheduler had time to notice (LOST_SECONDS).
        """
        deadline = time.monotonic() + LOST_SECONDS
        while True:
            try:
                live = set(self.client.run_on_scheduler(_worker_addresses))
            except Exception:
                live = None  # the scheduler itself is out of reach: ask the shards
            gone = [k for k, shard in enumerate(self.shards)
                    if live is not None and getattr(shard, "_address", None) not in live]
            if gone:
                return gone
            silent = [k for k, shard in enumerate(self.shards) if not _answers(shard)]
            if not silent or time.monotonic() > deadline:
                return silent
            time.sleep(0.5)

    def _recover(self, error: Exception) -> bool:
        """Restart lost shards and rewind every shard to the restart point.

        Returns False if no shard was lost: then `error` is not a lost worker's, and is raised.
        """
        lost = self._lost()
        if not lost:
            return False
        week, arrivals, folder = self._restart
        failed_week = self.steps + 1
        while True:
            self.recoveries += 1
            where = f"the checkpoint of week {week}" if folder else "week 0 (no checkpoint yet)"
            cause = (str(error).strip() or type(error).__name__).splitlines()[0]
            if self.recoveries > self.retries:
                raise WorkerLostError(
                    f"a Dask worker was lost at week {failed_week} ({cause}) after "
                    f"{self.retries} restart(s) already; stopped",
                    week, folder,
                )
            log.warning(
                "a Dask worker was lost at week %d (shard %s of %d: %s); restarting from %s "
                "(retry %d of %d)", failed_week, ", ".join(str(k + 1) for k in lost),
                len(self.shards), cause, where, self.recoveries, self.retries,
            )
            try:
                self._restart_shards(lost, folder)
                break
            except (CheckpointError, ScenarioError):
                raise
            except Exception as again:
                lost = self._lost()
                if not lost:
                    raise
                error = again
        self.steps, self.arrivals = week, arrivals
        del self.records[week + 1:]
        self.metrics = self.records[-1]
        return True

    def _restart_shards(self, lost: list[int], folder: Path | None) -> None:
        """New actors for the lost shards; every shard back to the checkpoint (or week 0)."""
        self.client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        fresh = {
            k: self.client.submit(Shard, self.scenario, self.seed, *self.ranges[k], actor=True,
                                  pure=False)
            for k in lost
        }
        for k, future in fresh.items():
            self.shards[k] = future.result()
        if folder is not None:
            self._wait([shard.load(str(folder / f"shard-{k}"))
                        for k, shard in enumerate(self.shards)])
        else:  # new shards start at week 0; the others go back to it
            self._wait([shard.reset() for k, shard in enumerate(self.shards) if k not in fresh])

    # -- checkpoints (scale/checkpoint.py) ----------------------------------------------------
    def write_checkpoint(self, folder: Path) -> list[str]:
        """Each shard writes its part (on its worker); the coordinator writes the week.

        Returns the parts' names. The folder must be on a filesystem every worker sees.
        """
        folder = Path(folder)
        names = [f"shard-{k}" for k in range(len(self.shards))]
        self._at_this_week(lambda: self._wait([
            shard.save(str(folder / name)) for shard, name in zip(self.shards, names, strict=True)
        ]))
        for name in names:
            if not (folder / name / "part.json").is_file():
                raise CheckpointError(
                    str(folder), f"{name} was written by a worker but is not visible here; "
                    "allowed: an --out folder on a filesystem every worker mounts at the same path",
                )
        write_part(folder / "coordinator", {"steps": self.steps, "arrivals": self.arrivals})
        return [*names, "coordinator"]

    def read_checkpoint(self, folder: Path, records: pd.DataFrame) -> None:
        """Every shard takes back its part; the coordinator its week and the records so far."""
        folder = Path(folder)
        coordinator = read_part(folder / "coordinator")
        steps = int(number("steps", coordinator["steps"]))
        if list(records.get("step", [])) != list(range(steps + 1)):
            raise CheckpointError(str(folder), f"the records are not those of weeks 0 to {steps}")
        self._wait([shard.load(str(folder / f"shard-{k}")) for k, shard in enumerate(self.shards)])
        self.steps = steps
        self.arrivals = int(number("arrivals", coordinator["arrivals"]))
        self.records = [
            {name: records[name].iloc[i].item() for name in records.columns}
            for i in range(len(records))
        ]
        self.metrics = self.records[-1]
        self._restart = (self.steps, self.arrivals, folder)

    def checkpointed(self, folder: Path, week: int) -> None:
        """Lost shards restart from here from now on."""
        self._restart = (week, self.arrivals, Path(folder))

    def run(self, steps: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Run `steps` weeks (default: the rest of run.steps), calling progress(week) after each."""
        for _ in range(steps if steps is not None else self.scenario.run.steps - self.steps):
            self.step()
            if progress is not None:
                progress(self.steps)

    def metrics_frame(self) -> pd.DataFrame:
        """Per-week metrics, with the columns of PeerLearningModel.metrics_frame()."""
        bands = band_columns(self.scenario.metrics.bands)
        return pd.DataFrame(self.records)[["step", *METRIC_NAMES, *bands]]

    def state(self) -> dict[str, np.ndarray]:
        """The whole population's agent state, shards concatenated in slot order."""
        parts = self._call_all("state")
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


@contextmanager
def cluster(workers: int, scheduler: str | None = None):
    """A dask.distributed Client: of the cluster at `scheduler`, or of a local one of `workers`.

    A local cluster runs one single-threaded worker process per shard, but no more processes
    than this machine has cores (shards then share a worker), each with an equal share of the
    cores for numba (WORKER_THREADS; docs/environment.md: numba ignores OMP_NUM_THREADS).
    Raises ScenarioError (one line in the CLI) if the scheduler cannot be reached. Dask's own log
    lines are silenced (a lost worker is reported by ShardedRun in one line).
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as error:
            message = f"cannot connect to {scheduler!r}: {error}"
            raise ScenarioError("--scheduler", message) from None
        with client:
            yield client
        return
    workers = local_workers(workers)
    threads = max(1, (os.cpu_count() or 1) // workers)
    # Workers print Python warnings to this terminal (a restarted worker warns that a port is
    # taken): the run reports what matters in one line, so they stay quiet. PYTHONWARNINGS must be
    # set before a worker's interpreter starts, so it is a pre-spawn variable, which the nanny
    # writes into THIS process's os.environ too (distributed's Nanny docstring); it is put back
    # when the cluster closes. The workers' thread count goes by WORKER_THREADS, set only inside
    # each worker (distributed.nanny.environ; why not NUMBA_NUM_THREADS: `_worker_threads`).
    environ = {
        "distributed.nanny.pre-spawn-environ": {"PYTHONWARNINGS": "ignore"},
        "distributed.nanny.environ": {WORKER_THREADS: str(threads)},
    }
    saved = dict(os.environ)
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    # multiprocessing's resource tracker (a process of its own, started with the cluster's first
    # semaphore) outlives a coordinator killed with SIGKILL and warns about the semaphores it
    # frees; it takes its warning filters from the -W options of this interpreter.
    tracker = "ignore:resource_tracker:UserWarning"
    sys.warnoptions.append(tracker)
    try:
        with (
            dask.config.set(environ),
            LocalCluster(
                # No dashboard is wanted, but the scheduler binds its HTTP server anyway, on 8787 of
                # every interface by default, warning when two runs share a machine: any free
                # port of this machine's loopback will do.
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.CRITICAL,
            ) as local,
            Client(local) as client,
        ):
            yield client
    finally:
        quiet.setLevel(level)
        sys.warnoptions.remove(tracker)
        _restore_environment(saved)


def _restore_environment(saved: dict[str, str]) -> None:
    """Put os.environ back as it was (the nanny writes its pre-spawn variables into it)."""
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def local_workers(shards: int) -> int:
    """Worker processes of a local cluster for `shards` shards: at most one per core."""
    return max(1, min(int(shards), os.cpu_count() or 1))


def shard_count(scenario: Scenario, shards: int) -> int:
    """The shards a population can have: at most one per block of whole communities."""
    return len(shard_blocks(scenario, shards)[1])
