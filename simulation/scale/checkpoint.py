"""Checkpoints: a run's whole state every K weeks, written atomically, resumed to the same bytes.

A checkpoint holds everything the next week reads: the population's arrays (core/population.py:
every array but the `*_next` buffers), the per-block sums, the model's week and arrival count,
the structure engine's own state (its `state()`; structures/base.py), and the weekly metrics
recorded so far by every replicate. Because every random number is keyed by (seed, stream, week,
agent, draw) (core/counter_rng.py), a run restored from it draws exactly what the uninterrupted
run drew, and writes the same metrics.parquet byte for byte (tests/test_checkpoint.py).

The files, in the run's results folder DIR (docs/performance.md, "Checkpoints and resuming"):

    DIR/checkpoint/run.json            what was asked: the resolved scenario, first seed,
                                       replicates, weeks, shards, the checkpoint period, command
    DIR/checkpoint/r000001-w000010/    the newest complete checkpoint: replicate 1 after week 10
        checkpoint.json                written last: replicate, week, seed, parts, version
        records.parquet                the weekly metrics of every replicate so far
        model/  (or shard-0/, shard-1/, ..., coordinator/ of a sharded run)
            part.json                  its numbers, and the dtype, shape and bytes of each array
            <name>.npy                 one file per array (numpy's format, no pickles)

A checkpoint is written into a hidden `.NAME.<id>.partial` folder, flushed to disk, and renamed
into place; the previous one is removed only after that, so a run killed at any moment leaves
at least one complete checkpoint. Each shard of a sharded run writes its own part, on its own
worker, so the folder must be on a filesystem every worker sees at the same path.

This module knows nothing of what the arrays mean: the model, the engines and the shards give
their state as named arrays and numbers (core/state.py), and new state is saved by declaring it
where it lives.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..analysis.results import marker_alive, process_marker
from ..config.errors import ScenarioError
from ..core.state import StateValue, number
from . import memory

if TYPE_CHECKING:
    from ..config.schema import Scenario

FORMAT = "peerscale-checkpoint"
VERSION = 1
FOLDER = "checkpoint"  # inside the results folder
REQUEST = "run.json"
OWNER = "owner.json"  # the process writing the checkpoints (results.process_marker)
INDEX = "checkpoint.json"
PART_INDEX = "part.json"
RECORDS = "records.parquet"
_NAME = re.compile(r"^r(\d{6})-w(\d{6})$")
_STATE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

# Bytes per agent slot a checkpoint holds: skill (float32), motivation (uint16), flags (uint8).
# The population's other 5 bytes per slot (memory.BYTES_PER_SLOT) are the *_next buffers, rebuilt.
BYTES_PER_SLOT = 4 + 2 + 1


class CheckpointError(ScenarioError):
    """A checkpoint that cannot be written or read: one line naming the folder."""


# ----------------------------------------------------------------------------------------------
# Parts: one folder of named arrays and numbers


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (a checkpoint must survive a crash of the machine too)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a folder
    finally:
        os.close(fd)


def _encode(value: float | int) -> int | str:
    """A number as exact, standard JSON: ints as ints, floats as their repr (nan, inf too)."""
    return value if isinstance(value, int) else repr(float(value))


def _decode(name: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{name}: not a number")
    return value if isinstance(value, int) else float(value)


def write_part(folder: str | Path, state: dict[str, StateValue]) -> None:
    """Write named arrays (one .npy each) and numbers (part.json, written last) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, dict[str, Any]] = {}
    numbers: dict[str, int | str] = {}
    for name, value in state.items():
        if not _STATE_NAME.match(name):
            raise ValueError(f"{name!r}: a state name is letters, digits, '_', '.' and '-'")
        if isinstance(value, np.ndarray):
            path = folder / f"{name}.npy"
            with open(path, "wb") as handle:
                np.save(handle, np.ascontiguousarray(value), allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            arrays[name] = {
                "dtype": value.dtype.str, "shape": list(value.shape),
                "bytes": path.stat().st_size,
            }
        else:
            numbers[name] = _encode(number(name, value))
    index = folder / PART_INDEX
    index.write_text(json.dumps({"arrays": arrays, "numbers": numbers}, indent=1) + "\n")
    _fsync(index)
    _fsync(folder)


def read_part(folder: str | Path) -> dict[str, StateValue]:
    """Read what `write_part` wrote; CheckpointError (one line) if anything is missing or off."""
    folder = Path(folder)
    check_part(folder)
    try:
        index = json.loads((folder / PART_INDEX).read_text())
        state: dict[str, StateValue] = {
            name: _decode(name, value) for name, value in index["numbers"].items()
        }
        for name, spec in index["arrays"].items():
            path = folder / f"{name}.npy"
            array = np.load(path, allow_pickle=False)
            if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
                raise ValueError(f"{path.name} is not the {spec['dtype']}{spec['shape']} saved")
            state[name] = array
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        message = f"unreadable checkpoint part: {_reason(error)}"
        raise CheckpointError(str(folder), message) from None
    return state


def check_part(folder: str | Path) -> None:
    """Check a part without loading it: its index, and every array file at its recorded size."""
    folder = Path(folder)
    try:
        index = json.loads((folder / PART_INDEX).read_text())
        for name, spec in index["arrays"].items():
            size = (folder / f"{name}.npy").stat().st_size
            if size != spec["bytes"]:
                raise ValueError(f"{name}.npy has {size} bytes, not {spec['bytes']}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        message = f"unreadable checkpoint part: {_reason(error)}"
        raise CheckpointError(str(folder), message) from None


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        return f"{error.strerror or error}" + (f" ({Path(error.filename).name})"
                                               if error.filename else "")
    if isinstance(error, KeyError):
        return f"missing {error}"
    return str(error)


def prefixed(state: dict[str, StateValue], prefix: str) -> dict[str, StateValue]:
    """The entries of `state` whose names start with `prefix`, without it."""
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


# ----------------------------------------------------------------------------------------------
# Sizes


def checkpoint_bytes(scenario: Scenario) -> int:
    """About how many bytes one checkpoint of `scenario` takes on disk (docs/performance.md).

    7 bytes per agent slot (skill, motivation, flags), the community and block arrays, the
    structure's own arrays (its memory declaration, without the parts that exist only while a
    week is computed) and the recorded metrics.
    """
    parts = memory.budget(scenario)
    slots = parts.pop("agents") // memory.BYTES_PER_SLOT
    for weekly in memory.WEEKLY_PARTS:
        parts.pop(weekly, None)
    run = scenario.run
    records = run.replicates * (run.steps + 1) * 64 * 8
    return BYTES_PER_SLOT * slots + sum(parts.values()) + records


# ----------------------------------------------------------------------------------------------
# The checkpoints of one run


class Checkpointable(Protocol):
    """What a run (model.PeerLearningModel, sharding.ShardedRun) provides to be checkpointed."""

    def write_checkpoint(self, folder: Path) -> list[str]:
        """Write this run's state as parts (subfolders of `folder`); return their names."""
        ...

    def read_checkpoint(self, folder: Path, records: pd.DataFrame) -> None:
        """Restore the state written by `write_checkpoint`, and the metrics recorded so far."""
        ...

    def checkpointed(self, folder: Path, week: int) -> None:
        """Called once the checkpoint of `week` is complete in `folder`."""
        ...


@dataclass(frozen=True)
class Saved:
    """A complete checkpoint: replicate `replicate` after week `week`.

    Without parts it holds only the records: the replicate has not started.
    """

    folder: Path
    replicate: int
    week: int
    seed: int
    parts: tuple[str, ...]
    records: pd.DataFrame

    def completed(self) -> list[pd.DataFrame]:
        """The weekly metrics of each replicate finished before this one (one frame each)."""
        frame = self.records
        return [
            frame[frame["replicate"] == r].reset_index(drop=True) for r in range(self.replicate)
        ]

    def current(self) -> pd.DataFrame:
        """The weeks recorded so far of the replicate this checkpoint is in."""
        frame = self.records
        rows = frame[frame["replicate"] == self.replicate]
        return rows.drop(columns=["replicate", "seed"]).reset_index(drop=True)

    @property
    def started(self) -> bool:
        """Whether the checkpoint holds a replicate under way (else it starts afresh)."""
        return bool(self.parts)


class Checkpoints:
    """The checkpoints of one run in `folder` (DIR/checkpoint): its request and newest state."""

    def __init__(self, folder: Path, request: dict[str, Any]):
        self.folder = Path(folder)
        self.request = request
        self.every = int(request["every"])

    # -- making and opening -----------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, request: dict[str, Any]) -> Checkpoints:
        """Start the checkpoints of a new run: its request and a first checkpoint (week 0)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        request = {"format": FORMAT, "version": VERSION, **request}
        tmp = folder / f".{REQUEST}.{secrets.token_hex(4)}.partial"
        tmp.write_text(json.dumps(request, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, folder / REQUEST)
        made = cls(folder, request)
        made.claim()
        made.save(0, 0, int(request["seed"]), pd.DataFrame())  # the run's start: week 0
        return made

    def claim(self) -> None:
        """Mark the checkpoints as this process's; refuse those a live process still writes.

        Two processes resuming one run would overwrite each other's checkpoints. A process on
        another host (a shared filesystem) cannot be checked from here and is not refused.
        """
        path = self.folder / OWNER
        try:
            owner = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            owner = None
        if (isinstance(owner, dict) and owner.get("pid") != os.getpid()
                and owner.get("host") == socket.gethostname() and marker_alive(owner)):
            raise CheckpointError(
                str(self.folder.parent), f"its run is still going on in process {owner['pid']}; "
                "allowed: resume once that process has ended (or stop it first)",
            )
        tmp = self.folder / f".{OWNER}.{secrets.token_hex(4)}.partial"
        tmp.write_text(json.dumps(process_marker()) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def open(cls, results: Path) -> Checkpoints:
        """The checkpoints in a results folder (CheckpointError, one line, if there are none)."""
        folder = Path(results) / FOLDER
        source = str(results)
        try:
            request = json.loads((folder / REQUEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            finished = (Path(results) / "metrics.parquet").is_file()
            raise CheckpointError(
                source, "holds the results of a finished run: nothing to resume" if finished
                else f"holds no checkpoint ({FOLDER}/{REQUEST} is missing); allowed: the "
                "results folder of a run started with --checkpoint-every",
            ) from None
        except NotADirectoryError:
            raise CheckpointError(source, "is not a folder; allowed: the results folder of a "
                                  "run started with --checkpoint-every") from None
        except (OSError, ValueError) as error:
            raise CheckpointError(source, f"unreadable {REQUEST}: {_reason(error)}") from None
        if not isinstance(request, dict) or request.get("format") != FORMAT:
            raise CheckpointError(source, f"{REQUEST} is not a PeerScale checkpoint")
        if request.get("version") != VERSION:
            raise CheckpointError(
                source, f"checkpoint format {request.get('version')!r}; this PeerScale reads "
                f"format {VERSION} (resume with the version that wrote it)",
            )
        missing = [k for k in ("scenario", "seed", "replicates", "steps", "every")
                   if k not in request]
        if missing:
            raise CheckpointError(source, f"{REQUEST} lacks {', '.join(missing)}")
        return cls(folder, request)

    # -- reading ------------------------------------------------------------------------------
    def _complete(self) -> list[tuple[int, int, Path]]:
        found = []
        for path in self.folder.iterdir():
            match = _NAME.match(path.name)
            if match and (path / INDEX).is_file():
                found.append((int(match[1]), int(match[2]), path))
        return sorted(found)

    def latest(self) -> Saved:
        """The newest complete checkpoint (CheckpointError if there is none or it is broken)."""
        try:
            found = self._complete()
        except OSError as error:
            raise CheckpointError(str(self.folder), _reason(error)) from None
        if not found:
            raise CheckpointError(str(self.folder), "holds no complete checkpoint")
        _, _, path = found[-1]
        try:
            index = json.loads((path / INDEX).read_text(encoding="utf-8"))
            records = (pq.read_table(path / RECORDS).to_pandas() if (path / RECORDS).exists()
                       else pd.DataFrame())
            return Saved(path, int(index["replicate"]), int(index["week"]), int(index["seed"]),
                         tuple(index["parts"]), records)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as error:
            raise CheckpointError(str(path), f"unreadable checkpoint: {_reason(error)}") from None

    def check(self, saved: Saved) -> None:
        """Check every part of a checkpoint before a run is resumed from it (one line if off)."""
        for part in saved.parts:
            check_part(saved.folder / part)

    # -- writing ------------------------------------------------------------------------------
    def due(self, week: int, steps: int) -> bool:
        """Whether week `week` of a replicate of `steps` weeks ends with a checkpoint.

        The last week does not: the replicate's end is saved as the next one's start.
        """
        return self.every > 0 and week % self.every == 0 and 0 < week < steps

    def save(self, replicate: int, week: int, seed: int, records: pd.DataFrame,
             run: Checkpointable | None = None) -> Saved:
        """Write a checkpoint atomically, then remove the older ones.

        `run` is None at a replicate's start (nothing to save but the records).
        """
        name = f"r{replicate:06d}-w{week:06d}"
        final = self.folder / name
        tmp = self.folder / f".{name}.{secrets.token_hex(4)}.partial"
        started = time.perf_counter()
        try:
            tmp.mkdir()
            parts = run.write_checkpoint(tmp) if run is not None else []
            if len(records):
                table = pa.Table.from_pandas(records, preserve_index=False)
                pq.write_table(table.replace_schema_metadata({}), tmp / RECORDS,
                               compression="zstd")
                _fsync(tmp / RECORDS)
            index = {
                "format": FORMAT, "version": VERSION, "replicate": replicate, "week": week,
                "seed": seed, "parts": parts,
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "write_seconds": round(time.perf_counter() - started, 3),
            }
            (tmp / INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
            _fsync(tmp / INDEX)
            _fsync(tmp)
            if final.exists():  # the same week again (a resumed run): the same state, kept
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.replace(tmp, final)
                _fsync(self.folder)
        except OSError as error:
            shutil.rmtree(tmp, ignore_errors=True)
            raise CheckpointError(
                str(self.folder), f"writing the checkpoint of week {week} failed: "
                f"{_reason(error)}",
            ) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._prune(keep=final)
        saved = Saved(final, replicate, week, seed, tuple(parts), records)
        if run is not None:
            run.checkpointed(final, week)
        return saved

    def _prune(self, keep: Path) -> None:
        """Remove every other checkpoint and any partial one (a run killed while writing)."""
        for path in self.folder.iterdir():
            if path != keep and (_NAME.match(path.name) or path.name.endswith(".partial")):
                shutil.rmtree(path, ignore_errors=True)

    def remove(self) -> None:
        """Remove all checkpoints (after the results are written)."""
        shutil.rmtree(self.folder, ignore_errors=True)
