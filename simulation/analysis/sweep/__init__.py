"""Scenario sweeps and global sensitivity analysis: `peerscale sweep` and `simulation.sweep`.

    sweep file (spec.py) -> points of a design (design.py, SALib) -> runs in warm workers
    (execute.py, points.py) -> one Parquet file per finished point (store.py) -> summaries,
    Morris and Sobol indices (analyse.py, SALib) -> figures (figures.py) -> manifest.json

docs/sweeps.md describes sweep files, the outputs and how a sweep resumes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import results
from .design import Design, check_points, make_design
from .execute import LostWorkerError, WorkerError, run_dask, run_local, worker_threads
from .spec import SUMMARIES, Sweep, SweepError, load_sweep, point_count
from .store import CorruptPoints, SweepFolder, write_table, write_text

__all__ = [
    "SUMMARIES",
    "LostWorkerError",
    "Sweep",
    "SweepError",
    "SweepInterrupted",
    "SweepResult",
    "WorkerError",
    "complete",
    "load_sweep",
    "point_count",
    "sweep",
]

# Runs per batch sent to a worker: enough to keep a worker busy between two messages, few enough
# that an interrupted sweep loses little.
BATCH_RUNS = 8


class SweepInterrupted(Exception):
    """SIGINT or SIGTERM stopped a sweep: what is stored, and how to resume, in one line."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number


@dataclass
class SweepResult:
    """A finished sweep: its folder, every run's outputs, and the design's analysis."""

    folder: Path
    sweep: Sweep
    points: pd.DataFrame  # points.parquet: one row per point and replicate
    summary: pd.DataFrame  # summary.csv: one row per point, means and 95% CIs
    indices: pd.DataFrame | None  # morris.csv or sobol.csv
    ran: int  # points run by this call (the rest were stored before: resumed)
    restarts: int  # worker processes that died and were replaced
    wall_time: float
    files: list[Path] = field(default_factory=list)


class _Stop:
    """SIGINT/SIGTERM set a flag that the coordinator reads between messages (main thread only)."""

    def __init__(self):
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, number: int, _frame: object) -> None:
        self.signal = number

    def __call__(self) -> bool:
        return self.signal is not None

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def sweep(
    sweep_file: str | Path | None = None,
    *,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    workers: int | None = None,
    client: Any = None,
    batch_size: int | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    on_start: Callable[[Sweep, int, int], None] | None = None,
    ensemble: Any = None,
) -> SweepResult:
    """Run a sweep file into a results folder, resuming the points it already holds.

    Args:
        sweep_file: the sweep TOML file (docs/sweeps.md); optional with `resume`, whose stored
            sweep is used (if both are given they must be the same sweep).
        out: the results folder (default: results/sweep-<name>, or a free name beside it); a
            folder already holding this sweep is resumed.
        resume: a results folder to resume (the same as `out` with the stored sweep).
        workers: local worker processes (default: the core count), each with an equal share of
            the cores for numba.
        client: a dask.distributed Client (scale/sharding.cluster): run on its workers instead.
        batch_size: points per batch sent to a worker (default: about BATCH_RUNS runs).
        progress: called as progress(points stored, points in the design, runs per point).
        on_start: called once, before any point runs, with the sweep, the points stored and all.
        ensemble: a member count K (or an analysis.ensemble.Ensemble): every point runs under
            the first K members of the calibration ensemble (a `member` column in the points;
            summaries with the combined interval). Parameters and arms may not set calibrated
            keys then.

    Raises:
        SweepError / ScenarioError: a bad sweep file or results folder (before anything runs).
        SweepInterrupted: SIGINT or SIGTERM; every point finished so far is stored.
        LostWorkerError: a point lost its worker process too often.
    """
    start = time.perf_counter()
    if sweep_file is None and resume is None:
        raise SweepError("sweep", "give a sweep file, or --resume a results folder")
    if resume is not None and out is not None and Path(out) != Path(resume):
        raise SweepError("--resume", "give --resume DIR or --out DIR, not both")
    if resume is not None:
        previous = SweepFolder.stored_sweep(Path(resume))
        if previous is None:
            raise SweepError(str(resume), "no sweep.json here: not a sweep results folder")
        resumed_sweep = Sweep.from_json(previous["sweep"], str(Path(resume) / "sweep.json"))
    if sweep_file is not None:
        spec = _with_ensemble(load_sweep(sweep_file), ensemble)
        if resume is not None and spec.fingerprint() != resumed_sweep.fingerprint():
            raise SweepError(
                str(sweep_file),
                f"is not the sweep stored in {resume} (its fingerprint "
                f"differs); drop the file to resume, or choose another --out",
            )
    else:
        spec = resumed_sweep
        if ensemble is not None and _with_ensemble(spec, ensemble).ensemble != spec.ensemble:
            raise SweepError(str(resume), "--ensemble differs from the stored sweep's: drop it")
    if workers is not None and client is not None:
        raise SweepError("--workers", "give --workers N or --scheduler ADDR, not both")
    workers = workers or max(1, os.cpu_count() or 1)
    design = make_design(spec)
    check_points(spec, design)
    target = Path(resume or out or results.free_folder(Path("results") / f"sweep-{spec.name}"))
    folder = SweepFolder(target, spec, design)
    resumed = folder.open()
    stored = folder.stored_points()
    todo = [p for p in range(len(design)) if p not in stored]
    runs = spec.runs_per_point
    if batch_size is None:
        batch_size = max(1, BATCH_RUNS // runs)
    if not todo and complete(target):  # finished before: nothing to run, nothing rewritten
        return _reopen(folder, design, time.perf_counter() - start)
    if on_start is not None:
        on_start(spec, len(stored), len(design))
    state = {"stored": len(stored), "restarts": 0, "ran": 0}

    def done(point: int, data: bytes) -> None:
        folder.store(point, data)
        state["stored"] += 1
        state["ran"] += 1
        if progress is not None:
            progress(state["stored"], len(design), runs)

    for attempt in range(3):  # again only for points whose stored file proved unreadable
        with _Stop() as stop:
            if todo and client is not None:
                run_dask(spec, design.overrides, todo, done, stop, client, batch_size)
            elif todo:
                state["restarts"] += run_local(
                    spec, design.overrides, todo, done, stop, workers, batch_size
                )
        if stop.signal is not None and state["stored"] < len(design):
            name = signal.Signals(stop.signal).name
            raise SweepInterrupted(
                f"{name}: stopped with {state['stored']} of {len(design)} points stored in "
                f"{target}; resume with: peerscale sweep --resume {target}",
                stop.signal,
            )
        try:
            table = folder.points()
            break
        except CorruptPoints as bad:
            if attempt == 2:
                raise
            todo = bad.points
            state["stored"] -= len(todo)
    wall = time.perf_counter() - start
    execution = {
        "workers": None if client is not None else workers,
        "threads_per_worker": None if client is not None else worker_threads(workers),
        "scheduler": getattr(getattr(client, "scheduler", None), "address", None),
        "batch_size": batch_size,
        "resumed": resumed,
        "points_run": state["ran"],
        "worker_restarts": state["restarts"],
    }
    return _finish(folder, design, table, state["ran"], state["restarts"], wall, execution)


def _with_ensemble(spec: Sweep, ensemble: Any) -> Sweep:
    """The sweep run under the first K ensemble members (checked: no calibrated key varied)."""
    if ensemble is None:
        return spec
    from dataclasses import replace

    from ..ensemble import resolve

    chosen = resolve(ensemble)
    chosen.refuse([p.key for p in spec.parameters], f"{spec.source}: parameters")
    for name, scenario in spec.arms.items():
        chosen.refuse_scenario(scenario, f"{spec.source}: {name}")
    return replace(spec, ensemble=tuple(m.to_json() for m in chosen.members))


def _finish(
    folder: SweepFolder,
    design: Design,
    table: pa.Table,
    ran: int,
    restarts: int,
    wall: float,
    execution: dict,
) -> SweepResult:
    """Every point is stored: write points.parquet, the summaries, indices, figures, manifest."""
    from . import analyse, figures  # matplotlib and SALib: only once a sweep is finished

    spec, path = folder.sweep, folder.path
    write_table(table, path / "points.parquet")
    points = table.to_pandas()
    summary = analyse.summary(spec, points)
    write_text(summary.to_csv(index=False), path / "summary.csv")
    write_text(analyse.summary_markdown(spec, summary), path / "summary.md")
    files = [path / "points.parquet", path / "summary.csv", path / "summary.md"]
    indices = None
    kind = spec.design.kind
    if kind in (
        "grid",
        "latin_hypercube",
    ):  # Morris and Sobol points are read through their indices
        files += figures.plot_design(spec, summary, path / "design")
    if kind == "morris":
        indices = analyse.morris(spec, design, points)
        write_text(indices.to_csv(index=False), path / "morris.csv")
        files += [path / "morris.csv", *figures.plot_morris(spec, indices, path / "morris")]
    elif kind == "sobol":
        indices, pairs = analyse.sobol(spec, points)
        write_text(indices.to_csv(index=False), path / "sobol.csv")
        files += [path / "sobol.csv", *figures.plot_sobol(spec, indices, path / "sobol")]
        if pairs is not None:
            write_text(pairs.to_csv(index=False), path / "sobol_s2.csv")
            files.append(path / "sobol_s2.csv")
    prov = results.provenance()
    for name in ("SALib", "dask", "distributed", "scipy"):
        try:
            prov["packages"][name] = version(name)
        except PackageNotFoundError:
            prov["packages"][name] = None
    manifest = prov | {
        "kind": "sweep",
        "sweep_file": spec.source,
        "fingerprint": spec.fingerprint(),
        "sweep": spec.to_json(),
        "seeds": spec.seeds,
        "design": {"kind": kind, "points": len(design), **spec.design.model_dump(mode="json")},
        "runs": len(design) * spec.runs_per_point,
        "execution": execution,
        "wall_time_s": round(wall, 3),
    }
    results.write_json(manifest, path / ".manifest.json.tmp")
    (path / ".manifest.json.tmp").replace(path / "manifest.json")
    files.append(path / "manifest.json")
    return SweepResult(path, spec, points, summary, indices, ran, restarts, wall, files)


def _reopen(folder: SweepFolder, design: Design, wall: float) -> SweepResult:
    """The result of a sweep finished before, read back from its folder."""
    path, kind = folder.path, folder.sweep.design.kind
    indices = pd.read_csv(path / f"{kind}.csv") if kind in ("morris", "sobol") else None
    return SweepResult(
        path,
        folder.sweep,
        folder.frame(),
        pd.read_csv(path / "summary.csv"),
        indices,
        0,
        0,
        wall,
        sorted(p for p in path.iterdir() if p.is_file()),
    )


def complete(folder: str | Path) -> bool:
    """Whether a results folder holds a finished sweep (its manifest.json is written last)."""
    return (Path(folder) / "manifest.json").is_file() and SweepFolder.stored_sweep(
        Path(folder)
    ) is not None
