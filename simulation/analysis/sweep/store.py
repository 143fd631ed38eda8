"""A sweep's results folder: a partitioned Parquet dataset, one file per finished point.

    sweep.json            the resolved sweep (every arm's full scenario) and its fingerprint
    design.parquet        one row per point: the value of every parameter
    dataset/part-0000042.parquet   point 42: one row per replicate (written when it finishes)
    points.parquet, summary.csv, summary.md, morris.csv | sobol.csv, figures, manifest.json
                          written when every point is stored (manifest.json last)

Each point's file is written to a hidden temporary name and renamed into place, so a file that
exists is complete; a point's bytes depend only on the sweep and the point, so the dataset is the
same whatever the worker count, batch size, order or interruptions. A folder whose sweep.json
holds the same fingerprint is resumed: only points without a file are run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ...config.errors import ScenarioError
from ..results import citation_version, provenance
from .design import Design
from .spec import MAX_POINTS, Sweep

PART = re.compile(r"^part-(\d{7})\.parquet$")
DIGITS = len(str(MAX_POINTS - 1))


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(temporary path), then rename the file into place (never a partial file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table(table: pa.Table, path: Path) -> None:
    """Zstd Parquet, atomically; the same table always gives the same bytes."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_text(text: str, path: Path) -> None:
    """UTF-8 text, atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _column(values: list[Any]) -> pa.Array:
    """A typed column of parameter values (floats, whole numbers or text)."""
    if all(isinstance(v, bool) for v in values):
        return pa.array(values, type=pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.array(values, type=pa.int64())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.array([float(v) for v in values], type=pa.float64())
    return pa.array([str(v) for v in values], type=pa.string())


class CorruptPoints(ScenarioError):
    """Part files that could not be read (and were removed): their points must run again."""

    def __init__(self, folder: Path, points: list[int]):
        super().__init__(
            str(folder),
            f"{len(points)} unreadable point file(s) removed (points "
            f"{points[:10]}); resume with: peerscale sweep --resume {folder}",
        )
        self.points = points


def point_table(
    sweep: Sweep, overrides: dict[str, Any], point: int, outputs: np.ndarray
) -> pa.Table:
    """One row per replicate: point, replicate, seed, the parameters, the outputs.

    With an ensemble, one row per member and replicate, and a `member` column after `point`.
    """
    n = sweep.replicates * sweep.members
    columns = {"point": pa.array([point] * n, type=pa.int64())}
    if sweep.ensemble:
        members = [int(m["member"]) for m in sweep.ensemble for _ in range(sweep.replicates)]
        columns["member"] = pa.array(members, type=pa.int32())
    columns |= {
        "replicate": pa.array(list(range(sweep.replicates)) * sweep.members, type=pa.int32()),
        "seed": pa.array(sweep.seeds * sweep.members, type=pa.int64()),
    }
    for parameter in sweep.parameters:
        columns[parameter.key] = _column([overrides[parameter.key]] * n)
    for j, output in enumerate(sweep.outputs):
        columns[output.name] = pa.array(outputs[:, j], type=pa.float64())
    return pa.table(columns)


def encode(table: pa.Table) -> bytes:
    """A point's Parquet bytes; the same table always gives the same bytes.

    A few rows, so no compression, statistics or dictionaries (they would only add encoding time).
    """
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="none", write_statistics=False, use_dictionary=False)
    return sink.getvalue().to_pybytes()


class SweepFolder:
    """The results folder of one sweep (see the module docstring for its files)."""

    def __init__(self, path: Path, sweep: Sweep, design: Design):
        self.path = Path(path)
        self.sweep, self.design = sweep, design
        self.dataset = self.path / "dataset"
        self.keys = [p.key for p in sweep.parameters]

    # -- creating and reopening -------------------------------------------------------------------
    @staticmethod
    def stored_sweep(path: Path) -> dict[str, Any] | None:
        """The sweep.json of a folder, or None if it holds none."""
        file = Path(path) / "sweep.json"
        if not file.is_file():
            return None
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ScenarioError(
                str(path), "sweep.json is unreadable: not a sweep results folder"
            ) from None

    def open(self) -> bool:
        """Create the folder, or reopen it to resume; True if it was resumed.

        Refuses (ScenarioError: one line) a non-empty folder that is not this sweep's.
        """
        stored = self.stored_sweep(self.path)
        fingerprint = self.sweep.fingerprint()
        if stored is None:
            if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
                raise ScenarioError(
                    str(self.path),
                    "results folder exists, is not empty and holds no "
                    "sweep; nothing was written (choose another --out)",
                )
            self.dataset.mkdir(parents=True, exist_ok=True)
            write_table(
                pa.Table.from_pandas(
                    self.design.frame(self.keys), preserve_index=False
                ).replace_schema_metadata(None),
                self.path / "design.parquet",
            )
            info = {
                "fingerprint": fingerprint,
                "peerscale_version": citation_version(),
                "git": provenance()["git"],
                "points": len(self.design),
                "sweep": self.sweep.to_json(),
            }
            write_text(json.dumps(info, indent=2) + "\n", self.path / "sweep.json")
            return False
        if stored.get("fingerprint") != fingerprint:
            raise ScenarioError(
                str(self.path),
                f"holds another sweep ({stored.get('sweep', {}).get('name')!r}, "
                f"fingerprint {stored.get('fingerprint')}); resume it with --resume "
                f"{self.path} alone, or choose another --out",
            )
        self._check_same_code(stored)
        stored_design = pq.read_table(self.path / "design.parquet").to_pandas()
        if not stored_design.equals(self.design.frame(self.keys)):
            raise ScenarioError(
                str(self.path),
                "design.parquet differs from the design this version "
                "generates (another SALib?); resume with the version that started it",
            )
        self.dataset.mkdir(exist_ok=True)
        return True

    def _check_same_code(self, stored: dict[str, Any]) -> None:
        """Points from two versions of the model must not be mixed in one dataset."""
        version = citation_version()
        then, now = stored.get("git", {}).get("commit"), provenance()["git"]["commit"]
        if stored.get("peerscale_version") != version or (then and now and then != now):
            raise ScenarioError(
                str(self.path),
                f"was started by PeerScale {stored.get('peerscale_version')} "
                f"(commit {then}), this is {version} (commit {now}): a dataset must come "
                "from one version; rerun into another --out",
            )

    # -- points -----------------------------------------------------------------------------------
    def part(self, point: int) -> Path:
        """The file of one point's rows."""
        return self.dataset / f"part-{point:0{DIGITS}d}.parquet"

    def stored_points(self) -> set[int]:
        """Points with a file (complete: files appear only by renaming).

        Leftovers of an interrupted write are removed. A file that cannot be read is found by
        `points`.
        """
        done = set()
        for entry in os.scandir(self.dataset):
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                Path(entry.path).unlink(missing_ok=True)
                continue
            match = PART.match(entry.name)
            if match and int(match.group(1)) < len(self.design) and entry.stat().st_size > 0:
                done.add(int(match.group(1)))
        return done

    def store(self, point: int, data: bytes) -> None:
        """Write a finished point's file (its Parquet bytes, encoded by the worker) atomically."""
        atomic_write(self.part(point), lambda tmp: tmp.write_bytes(data))

    def points(self) -> pa.Table:
        """Every stored point, in point order: the dataset as one table.

        A part file that cannot be read (a disk that filled up, a machine that lost power before
        the file reached the disk) is removed, and CorruptPoints names the points to run again.
        """
        parts, bad = [], []
        for point in range(len(self.design)):
            try:
                with pq.ParquetFile(self.part(point)) as part:  # closed now, not when collected
                    parts.append(part.read())
            except (OSError, pa.ArrowException):
                self.part(point).unlink(missing_ok=True)
                bad.append(point)
        if bad:
            raise CorruptPoints(self.path, bad)
        table = pa.concat_tables(parts)
        return table.replace_schema_metadata({"peerscale_sweep": self.sweep.fingerprint()})

    def frame(self) -> pd.DataFrame:
        """points.parquet as a DataFrame."""
        return pq.read_table(self.path / "points.parquet").to_pandas()
