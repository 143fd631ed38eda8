"""Running a sweep's points in warm worker processes: local processes, or a Dask cluster.

A `peerscale run` process spends about 2.6 s starting (interpreter, imports, loading the numba
cache) for a 10^4-agent run that takes about 20 ms once warm, so points are never run one
process each: a worker starts once, builds a PointRunner once, and is sent batches of points.

Local workers (`run_local`) are spawned processes, each with its share of the cores for numba
(NUMBA_NUM_THREADS), fed batches over a pipe; each finished point comes back at once. A worker
that dies (killed, out of memory) loses only the points it was sent and had not returned: they
are sent again to a fresh worker. A point that kills its worker `MAX_LOSSES` times stops the
sweep (`LostWorkerError`), keeping what is stored.

On a Dask cluster (`run_dask`; scale/sharding.cluster gives a client) a batch is a task; the
scheduler re-runs the tasks of a lost worker, and a task lost too often stops the sweep likewise.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext
from typing import Any

from ...config.errors import ScenarioError
from .spec import Sweep

MAX_LOSSES = 3  # a point whose worker dies this often is not retried again
WORKER_NAME = "peerscale-sweep-worker"
PointDone = Callable[[int, bytes], None]  # a finished point and its Parquet bytes


class LostWorkerError(ScenarioError):
    """A point killed its worker too often (or the cluster lost it): the sweep stops."""


class WorkerError(RuntimeError):
    """A point raised an exception in a worker (a bug: points are validated before they run)."""


# ----------------------------------------------------------------------------------------------
# Worker side


def _worker(
    conn: Connection, sweep_json: dict, source: str, overrides: list[dict[str, Any]]
) -> None:
    """A local worker: build the PointRunner once, then run the batches it is sent."""
    from .points import PointRunner
    from .spec import Sweep

    # Ctrl-C reaches every process of the terminal's group: only the coordinator decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runner = PointRunner(Sweep.from_json(sweep_json, source), overrides)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):  # the coordinator is gone
            return
        if batch is None:
            return
        for point in batch:
            try:
                result = runner.encoded(point)
            except ScenarioError as exc:  # bad input found only here (say, memory): one line
                conn.send(("invalid", point, str(exc)))
                return
            except Exception:
                conn.send(("error", point, traceback.format_exc()))
                return
            conn.send(("done", point, result))


_RUNNERS: dict[str, Any] = {}


def run_batch(
    payload: tuple[str, dict, str, list[dict[str, Any]]], points: list[int]
) -> list[tuple[int, bytes]]:
    """A Dask task: run a batch of points (the PointRunner is built once per worker process)."""
    from .points import PointRunner
    from .spec import Sweep

    fingerprint, sweep_json, source, overrides = payload
    runner = _RUNNERS.get(fingerprint)
    if runner is None:
        runner = _RUNNERS[fingerprint] = PointRunner(Sweep.from_json(sweep_json, source), overrides)
    return [(point, runner.encoded(point)) for point in points]


# ----------------------------------------------------------------------------------------------
# Local processes


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables while workers are spawned (they inherit os.environ)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Worker:
    def __init__(self, context: SpawnContext, threads: int, args: tuple):
        self.conn, child = context.Pipe()
        with _environment(NUMBA_NUM_THREADS=str(threads)):
            self.process = context.Process(
                target=_worker, args=(child, *args), daemon=True, name=WORKER_NAME
            )
            self.process.start()
        child.close()
        self.assigned: deque[int] = deque()  # points sent and not yet returned, in order

    def send(self, batch: list[int]) -> bool:
        try:
            self.conn.send(batch)
        except (BrokenPipeError, OSError):
            return False
        self.assigned.extend(batch)
        return True

    def stop(self) -> None:
        """End the process (its unreturned points are lost); the pipe stays open to be drained."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def worker_threads(workers: int) -> int:
    """Numba threads per local worker: an equal share of this machine's cores (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def run_local(
    sweep: Sweep,
    overrides: list[dict[str, Any]],
    todo: Iterable[int],
    done: PointDone,
    stop: Callable[[], bool],
    workers: int,
    batch_size: int,
    on_restart: Callable[[int], None] | None = None,
) -> int:
    """Run the points `todo` on `workers` local processes; `done(point, outputs)` stores each.

    Returns the number of workers that died and were replaced. Stops early (workers ended, what
    they returned kept) when `stop()` turns true.
    """
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no forked numba threads
    args = (sweep.to_json(), sweep.source, overrides)
    threads = worker_threads(workers)
    pending = deque(sorted(todo))
    losses: dict[int, int] = {}
    restarts = 0
    pool = [_Worker(context, threads, args) for _ in range(min(workers, max(1, len(pending))))]
    try:
        while pending or any(w.assigned for w in pool):
            if stop():
                break
            for worker in pool:  # two batches each in flight: a worker never waits for the next
                while pending and len(worker.assigned) < 2 * batch_size:
                    batch = [pending.popleft() for _ in range(min(batch_size, len(pending)))]
                    if not worker.send(batch):
                        pending.extendleft(reversed(batch))
                        break
            ready = wait([w.conn for w in pool] + [w.process.sentinel for w in pool], timeout=0.2)
            for k, worker in enumerate(pool):
                if worker.conn in ready and not _receive(worker, done):
                    dead = True
                elif worker.process.sentinel in ready:
                    dead = not _drain(worker, done)
                else:
                    dead = False
                if dead:
                    restarts += 1
                    lost = list(worker.assigned)
                    if lost:  # the point it was running is the first not returned
                        losses[lost[0]] = losses.get(lost[0], 0) + 1
                        if losses[lost[0]] >= MAX_LOSSES:
                            raise LostWorkerError(
                                "sweep",
                                f"point {lost[0]} lost its worker process {MAX_LOSSES} times "
                                "(killed or out of memory); the points finished so far are stored",
                            )
                    pending.extendleft(reversed(lost))
                    worker.assigned.clear()
                    worker.stop()
                    worker.conn.close()
                    pool[k] = _Worker(context, threads, args)
                    if on_restart is not None:
                        on_restart(restarts)
    finally:
        for worker in pool:
            worker.stop()
            _drain(worker, done)  # points returned before the end are kept
            worker.conn.close()
    return restarts


def _receive(worker: _Worker, done: PointDone) -> bool:
    """Handle one message; False if the worker is gone."""
    try:
        kind, point, payload = worker.conn.recv()
    except (EOFError, OSError):
        return False
    if kind == "invalid":
        raise ScenarioError("sweep", f"point {point}: {payload}")
    if kind == "error":
        raise WorkerError(f"point {point} failed in a worker:\n{payload}")
    worker.assigned.remove(point)
    done(point, payload)
    return True


def _drain(worker: _Worker, done: PointDone) -> bool:
    """Take every finished point already in the pipe; False if the worker has died."""
    try:
        while worker.conn.poll():
            if not _receive(worker, done):
                return False
    except (EOFError, OSError):
        return False
    return worker.process.is_alive()


# ----------------------------------------------------------------------------------------------
# A Dask cluster


def run_dask(
    sweep: Sweep,
    overrides: list[dict[str, Any]],
    todo: Iterable[int],
    done: PointDone,
    stop: Callable[[], bool],
    client: Any,
    batch_size: int,
) -> int:
    """Run the points `todo` as batches of tasks on a dask.distributed client's workers."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    pending = deque(sorted(todo))
    payload = (sweep.fingerprint(), sweep.to_json(), sweep.source, overrides)
    [shared] = client.scatter([payload], broadcast=True, hash=False)
    slots = 2 * max(1, len(client.nthreads()))

    def submit() -> Any:
        batch = [pending.popleft() for _ in range(min(batch_size, len(pending)))]
        return client.submit(run_batch, shared, batch, pure=False)

    running = as_completed([submit() for _ in range(slots) if pending])
    try:
        for future in running:
            try:
                results = future.result()
            except FutureCancelledError:
                continue
            except Exception as exc:
                if type(exc).__name__ == "KilledWorker":
                    raise LostWorkerError(
                        "--scheduler",
                        "a batch of points lost its worker too often "
                        "(killed or out of memory); the points finished so far are "
                        "stored",
                    ) from None
                raise WorkerError(f"a batch of points failed on the cluster: {exc!r}") from exc
            for point, result in results:
                done(point, result)
            if stop():
                break
            if pending:
                running.add(submit())
    finally:
        for future in running.futures:
            future.cancel()
    return 0
