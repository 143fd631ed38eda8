"""What the page exports: the settings as scenario files for `peerscale run`, and the figures.

The metrics (CSV, Parquet) and single figures come from the Board itself (board.py). A scenario
file holds every parameter of the run shown (config/saving.py), so `peerscale run <file>`
reproduces it: its replicate 0 uses the same seed, and its metrics for weeks 0..n are the
dashboard's, bit for bit (tests/test_dashboard_export.py runs the command to check).
"""

from __future__ import annotations

import io
import re
import time
import zipfile

from ..analysis.results import citation_version
from ..config.saving import scenario_toml
from ..config.schema import Scenario
from .board import Board


def stem(board: Board) -> str:
    """The start of every exported file's name: what is shown and the week."""
    what = "-vs-".join(s.name for s in board.scenarios)
    return f"{_safe(what)}-week{board.week}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120] or "scenario"


def scenario_text(scenario: Scenario, start: str, board: Board) -> str:
    """One configuration as a scenario file, with a header saying where it came from."""
    header = (
        f"Exported from the PeerScale {citation_version()} dashboard on "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}.\n"
        f"Starting point: {start}; the dashboard showed week {board.week} of {board.last_week}.\n"
        f"Run it with: peerscale run {_safe(scenario.name)}.toml\n"
        f"Replicate 0 of that run uses seed {scenario.run.seed}: its metrics for weeks 0 to "
        f"{board.week} are the dashboard's, exactly.\n"
        "Every parameter is written, defaults included (`peerscale params` says what each means)."
    )
    return scenario_toml(scenario, header)


def scenario_file(board: Board, start: str) -> tuple[str, bytes]:
    """(file name, bytes): one TOML file, or for a comparison a zip of one per configuration."""
    if not board.compare:
        scenario = board.scenarios[0]
        return f"{_safe(scenario.name)}.toml", scenario_text(scenario, start, board).encode()
    buffer = io.BytesIO()
    names = [f"{_safe(s.name)}.toml" for s in board.scenarios]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for scenario, name in zip(board.scenarios, names, strict=True):
            archive.writestr(name, scenario_text(scenario, start, board))
        archive.writestr(
            "README.txt",
            "One scenario file per configuration of the dashboard's comparison. Run them with "
            "the same seeds (common random numbers), as the dashboard did:\n\n"
            f"    peerscale compare {' '.join(names)}\n",
        )
    return f"{stem(board)}-scenarios.zip", buffer.getvalue()


def figures_zip(board: Board) -> bytes:
    """Every figure on the page as a PNG file (at the export resolution), in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed
        for key in board.charts:
            archive.writestr(f"{stem(board)}-{key}.png", board.figure_png(key))
    return buffer.getvalue()
