"""Results folders: metrics as Parquet, summaries and provenance as JSON, written atomically.

Everything is written into a hidden temporary folder beside the target (`.NAME.<id>.partial`)
and renamed into place only when complete, so an interrupted or failed run leaves no
half-written results, and an existing results folder is never touched: a run refuses a non-empty
--out folder.

The temporary folder is made before the simulation starts (`atomic_folder`), after checking the
target: that its parent can be written, that it is not a mount point (a rename cannot replace
one) and that the filesystem has room for what the run will write. A folder left behind by a
process that was killed outright (SIGKILL, a power cut) carries a marker naming its process; the
next run writing beside it removes it if that process is gone (`sweep_partials`).

Names that come from a scenario or trial (`name = "..."`) are reduced to a safe file name
(`safe_name`) before they become part of a path, so results never land outside the folder asked
for.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..config.errors import ScenarioError

# The marker file inside a temporary results folder: who is writing it (JSON).
MARKER = ".peerscale-partial.json"
# The longest file name the code makes from a user's text, in UTF-8 bytes: common filesystems
# allow 255, and the folder name adds a prefix ("run-", "compare-") and a suffix ("-2").
NAME_BYTES = 100
# Room kept free beyond the estimate: figures and JSON vary by a few hundred kB.
SPARE_BYTES = 16 * 1024**2


class ResultsExistError(FileExistsError):
    """The chosen results folder already holds files."""


class OutputError(ScenarioError):
    """The results folder cannot be written: one line naming the path and what is allowed."""


def citation_version() -> str:
    """The installed package's version, as CITATION.cff asks to cite it."""
    try:
        return version("peerscale")
    except PackageNotFoundError:
        return "0.0.0+source"


def _git_commit() -> dict:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


def provenance() -> dict:
    """What produced a result: versions, commit, machine and threads (the same keys anywhere)."""
    import numba

    from ..scale.vector_width import DECISION as vector_width

    packages: dict[str, str | None] = {}
    for name in ("numpy", "numba", "mesa", "pandas", "pyarrow", "pydantic", "matplotlib", "solara"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "peerscale_version": citation_version(),
        "cite_as": f"PeerScale {citation_version()} (see CITATION.cff)",
        "git": _git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "vector_width": vector_width,
        "packages": packages,
        "command": sys.argv,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# ----------------------------------------------------------------------------------------------
# Names and paths


def safe_name(text: str, fallback: str = "scenario") -> str:
    """`text` as one safe file name: no separators, no '..', no control characters, bounded.

    Letters and digits of any script, '-', '_' and single dots are kept (NFC-normalised); every
    other character (path separators, spaces, control characters, NUL) and every run of dots
    becomes '_' (no '..'); leading and trailing dots and '_' are dropped (no hidden names); the
    result is at most NAME_BYTES bytes of UTF-8. Text with nothing left gives `fallback`.
    """
    text = unicodedata.normalize("NFC", str(text))
    kept = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    kept = re.sub(r"\.{2,}", "_", kept)
    kept = re.sub(r"_{2,}", "_", kept).strip("._")
    encoded = kept.encode("utf-8")[:NAME_BYTES]
    kept = encoded.decode("utf-8", errors="ignore").rstrip("._")
    return kept or fallback


def default_folder(kind: str, name: str, root: Path = Path("results")) -> Path:
    """The first free `root/<kind>-<safe name>` (then -2, -3, ...): always directly in `root`."""
    folder = free_folder(root / f"{kind}-{safe_name(name)}")
    if folder.parent != root:  # safe_name leaves no separator; this guards the promise anyway
        raise OutputError(str(folder), f"is not directly inside {root}")
    return folder


def free_folder(base: Path) -> Path:
    """`base`, or `base-2`, `base-3`, ... : the first name not yet taken (never overwrite)."""
    if not base.exists():
        return base
    k = 2
    while base.with_name(f"{base.name}-{k}").exists():
        k += 1
    return base.with_name(f"{base.name}-{k}")


def _why(error: OSError) -> str:
    return error.strerror or str(error)


def check_target(target: Path) -> None:
    """Refuse, in one line, a results folder that exists and is not empty or is a file."""
    try:
        exists = target.exists() or target.is_symlink()
        taken = exists and (not target.is_dir() or any(target.iterdir()))
    except (OSError, ValueError) as error:
        raise OutputError(str(target), _describe(error)) from None
    if taken:
        raise ResultsExistError(
            f"{target}: results folder exists and is not empty; nothing was written "
            "(choose another --out)"
        )


def _describe(error: Exception) -> str:
    if isinstance(error, ValueError):  # e.g. an embedded NUL character
        return f"not a usable path ({error}); allowed: a folder path without NUL characters"
    assert isinstance(error, OSError)
    return f"cannot be written: {_why(error)} (choose another --out)"


def _nearest_existing(path: Path) -> Path:
    """The deepest existing folder on the way to `path` (its parents are created later)."""
    here = path.absolute().parent
    while not here.exists():
        here = here.parent
    return here


def check_room(target: Path, folder: Path, need: int, what: str = "the results") -> None:
    """Refuse `target` (one line) if the filesystem of `folder` lacks `need` bytes and a margin."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell: the write itself reports a full disk
    if free < need + SPARE_BYTES:
        raise OutputError(
            str(target),
            f"only {_size(free)} free on its filesystem ({folder}), but {what} need about "
            f"{_size(need + SPARE_BYTES)}; nothing was written (free some space or choose "
            "another --out)",
        )


def _size(n: float) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("kB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def make_folder(path: Path) -> None:
    """Make `path` and its parents with the umask's permissions (mkdtemp would make 0700)."""
    path.mkdir(parents=True, exist_ok=True)


# ----------------------------------------------------------------------------------------------
# Partial folders: made before the run, marked, renamed into place or removed


def _process_start(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot), to tell it from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_marker() -> dict[str, Any]:
    """Who this process is: pid, start time and host (to tell later whether it still runs)."""
    return {
        "pid": os.getpid(), "started": _process_start(os.getpid()), "host": socket.gethostname(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def marker_alive(marker: dict[str, Any]) -> bool:
    """Whether the process that wrote `marker` (on this host) still runs."""
    pid = marker.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    started = _process_start(pid)
    return started is None or started == marker.get("started")


# A partial folder of ours: `.<name>.<8 hex digits>.partial` (new_partial).
_PARTIAL = re.compile(r"^\..+\.[0-9a-f]{8}\.partial$")
# A partial folder has its marker within microseconds of being made; one still unmarked and empty
# after this long belongs to a process killed in between.
UNMARKED_SECONDS = 60.0


def sweep_partials(folder: Path) -> list[str]:
    """Remove partial folders in `folder` whose process is gone; say what was done.

    Returns one line per folder removed, or left because it was made on another host (a shared
    filesystem: its process cannot be checked from here). A folder without a marker is removed
    only if it has our name pattern, is empty and is older than UNMARKED_SECONDS (its process
    was killed between making it and marking it); other folders are never touched.
    """
    notes: list[str] = []
    try:
        candidates = [p for p in folder.iterdir() if _PARTIAL.match(p.name) and p.is_dir()]
    except OSError:
        return notes
    for path in candidates:
        try:
            marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            marker = None
        if not isinstance(marker, dict):
            if _stale_and_empty(path):
                notes.append(f"removed {path}: an empty folder of a run killed as it started")
            continue
        if marker.get("host") != socket.gethostname():
            notes.append(
                f"left {path}: an unfinished results folder of host {marker.get('host')!r} "
                "(remove it by hand if that run is over)"
            )
        elif not marker_alive(marker):
            shutil.rmtree(path, ignore_errors=True)
            notes.append(
                f"removed {path}: unfinished results of a run that was killed "
                f"(pid {marker.get('pid')}, {marker.get('created_utc')})"
            )
    return notes


def _stale_and_empty(path: Path) -> bool:
    """Remove `path` if it is empty and older than UNMARKED_SECONDS; whether it was removed."""
    try:
        if time.time() - path.stat().st_mtime < UNMARKED_SECONDS:
            return False
        path.rmdir()  # only an empty folder goes
    except OSError:
        return False
    return True


def new_partial(parent: Path, name: str) -> Path:
    """A new marked folder `.<name>.<id>.partial` in `parent` (umask permissions)."""
    while True:
        path = parent / f".{name}.{secrets.token_hex(4)}.partial"
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    (path / MARKER).write_text(json.dumps(process_marker()) + "\n", encoding="utf-8")
    return path


def remove_marker(folder: Path) -> None:
    """Drop the marker of a partial folder (before it is renamed into place)."""
    with contextlib.suppress(FileNotFoundError):
        (folder / MARKER).unlink()


def _checked(target: Path, need: int, what: str, renamed: bool) -> Path:
    """Check that `target` can become a results folder; return the nearest existing folder.

    Not taken, not below a file, room for `need` bytes; not a mount point if the folder is to
    be renamed into place (a rename onto one fails with EBUSY, after the whole run).
    """
    check_target(target)
    try:
        if renamed and os.path.ismount(target):
            raise OutputError(
                str(target), "is a mount point; a results folder is renamed into place, so "
                "allowed: a new folder inside it (--out DIR/run)",
            )
        base = _nearest_existing(target)
        if not base.is_dir():
            raise OutputError(str(target), f"{base} is a file, not a folder")
        check_room(target, base, need, what)
    except ScenarioError:
        raise
    except (OSError, ValueError) as error:
        raise OutputError(str(target), _describe(error)) from None
    return base


def prepare(target: Path, need: int = 0) -> tuple[Path, list[str]]:
    """Check `target` and make its marked partial folder beside it, before anything is computed.

    Returns the partial folder and notes about stale partial folders removed beside it. Raises
    ResultsExistError or OutputError (one line) if the target cannot be written.
    """
    target = Path(target)
    base = _checked(target, need, "the results", renamed=True)
    try:
        make_folder(target.parent)
        notes = sweep_partials(target.parent)
        partial = new_partial(target.parent, safe_name(target.name, "results"))
    except OSError as error:
        _unmake(target.parent.absolute(), base)
        raise OutputError(str(target), _describe(error)) from None
    return partial, notes


def prepare_in_place(target: Path, need: int = 0) -> None:
    """Check and make `target`, a folder a run writes into as it goes (checkpoints, then results).

    Raises ResultsExistError or OutputError (one line) if it cannot be written.
    """
    target = Path(target)
    base = _checked(target, need, "the results and checkpoints", renamed=False)
    try:
        make_folder(target)
    except OSError as error:
        _unmake(target.absolute(), base)
        raise OutputError(str(target), _describe(error)) from None


def _unmake(folder: Path, base: Path) -> None:
    """Remove the empty folders made on the way from `base` to `folder` (nothing left behind)."""
    while folder != base and base in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def commit(partial: Path, target: Path) -> None:
    """Rename a complete partial folder to `target` (an empty target folder is replaced)."""
    remove_marker(partial)
    if target.is_dir() and not target.is_symlink():
        target.rmdir()  # empty: checked before the run and nobody writes into it
    os.replace(partial, target)


@contextmanager
def atomic_folder(target: Path, need: int = 0, notes: list[str] | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success rename it to `target`, on failure remove it.

    The folder is made at once, so a run can enter this before it computes anything and find an
    unwritable target (or one without `need` bytes of room) before the first week. A failure to
    write (a full disk) is raised as OutputError, one line; `notes` receives a line for each
    stale partial folder removed beside the target.
    """
    target = Path(target)
    tmp, swept = prepare(target, need)
    if notes is not None:
        notes.extend(swept)
    with _filled(tmp, target, lambda: commit(tmp, target), "; nothing was written") as folder:
        yield folder


@contextmanager
def replaced_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; on success it replaces `out` as a whole.

    For an experiment's committed output folder, which each rerun replaces: a failure or an
    interruption removes the temporary folder and leaves `out` as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_files(target: Path) -> Iterator[Path]:
    """Yield a marked partial folder inside the existing folder `target`, then move its files up.

    On success each file is moved into `target` (replacing one of the same name); on failure the
    partial folder is removed. For a folder that already holds a run's checkpoints: its results
    appear only when complete (each file by an atomic rename), and a run killed meanwhile is
    finished again by resuming.
    """
    target = Path(target)
    try:
        tmp = new_partial(target, "results")
    except OSError as error:
        raise OutputError(str(target), _describe(error)) from None

    def move_up() -> None:
        remove_marker(tmp)
        for path in sorted(tmp.iterdir()):
            os.replace(path, target / path.name)
        tmp.rmdir()

    with _filled(tmp, target, move_up, "") as folder:
        yield folder


@contextmanager
def _filled(tmp: Path, target: Path, place: Callable[[], None], after: str) -> Iterator[Path]:
    """Yield `tmp` to be filled, then `place()` it; on any failure remove it.

    An OSError (a full disk) becomes an OutputError: one line naming `target`, then `after`.
    """
    try:
        yield tmp
        place()
    except ResultsExistError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        message = f"writing the results failed: {_why(error)}{after}"
        raise OutputError(str(target), message) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def results_bytes(rows: int, columns: int = 64) -> int:
    """An upper bound of what a results folder of `rows` metric rows takes on disk."""
    figures = 2 * 1024**2  # PNG and PDF of the figure, JSON files
    return rows * columns * 8 + figures


# ----------------------------------------------------------------------------------------------
# Files


def write_parquet(
    frame: pd.DataFrame, path: Path | BinaryIO, metadata: dict | None = None
) -> None:
    """Zstd Parquet with the types kept and deterministic bytes (no timestamps inside).

    `path` may be a binary file object instead (the dashboard writes its export into memory).
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)  # pandas metadata carries library versions: keep bytes reproducible
    if metadata:
        meta[b"peerscale"] = json.dumps(finite(metadata), sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    pq.write_table(table, path, compression="zstd")


def write_json(data: dict, path: Path) -> None:
    """`data` as indented, standard JSON: numpy values as plain numbers, nan and inf as null.

    JSON has no NaN or Infinity; Python would write them as bare words that other readers
    refuse. A confidence interval of one replicate (nan) is written as null.
    """
    text = json.dumps(finite(data), indent=2, sort_keys=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def finite(x: Any) -> Any:
    """`x` with numpy scalars and arrays as Python values, Paths as text, nan and inf as None."""
    if isinstance(x, dict):
        return {str(k): finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return finite(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, (str, int)):
        return x
    raise TypeError(f"not JSON serialisable: {type(x)}")

