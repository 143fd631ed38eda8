"""Results folders: metrics as Parquet, summaries and provenance as JSON, written atomically.

Everything is written into a hidden temporary folder beside the target and renamed into place
only when complete, so an interrupted or failed run leaves no half-written results, and an
existing results folder is never touched: a run refuses a non-empty --out folder.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class ResultsExistError(FileExistsError):
    """The chosen results folder already holds files."""


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


def free_folder(base: Path) -> Path:
    """`base`, or `base-2`, `base-3`, ... : the first name not yet taken (never overwrite)."""
    if not base.exists():
        return base
    k = 2
    while base.with_name(f"{base.name}-{k}").exists():
        k += 1
    return base.with_name(f"{base.name}-{k}")


@contextmanager
def atomic_folder(target: Path):
    """Yield a temporary folder; on success rename it to `target`, on failure remove it."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ResultsExistError(
            f"{target}: results folder exists and is not empty; nothing was written "
            "(choose another --out)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            target.rmdir()  # empty (checked above)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
        meta[b"peerscale"] = json.dumps(metadata, sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    pq.write_table(table, path, compression="zstd")


def write_json(data: dict, path: Path) -> None:
    """`data` as indented JSON (numpy scalars and arrays as plain numbers and lists)."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_jsonable)
    path.write_text(text + "\n", encoding="utf-8")


def _jsonable(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x)}")
