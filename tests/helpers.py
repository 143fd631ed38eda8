"""Helpers for the tests: small scenarios that run in well under a second, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from simulation import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def small(structure: str = "peer_only", size: int = 2000, steps: int = 12, **overrides) -> Scenario:
    """A small scenario: `overrides` use double underscores for dots (learning__optimal_gap=0.1)."""
    changes = {
        "program.structure": structure, "population.size": size, "run.steps": steps,
        "run.replicates": 1,
    }
    changes |= {k.replace("__", "."): v for k, v in overrides.items()}
    return Scenario(name=structure).with_overrides(changes)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    """Run `peerscale` in a subprocess, as a user would."""
    full_env = os.environ | {"PYTHONWARNINGS": "ignore"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "simulation.cli", *args], cwd=cwd or ROOT, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )


def panel_images(rc) -> dict[str, bytes]:
    """The dashboard's figures in a page rendered in-process: panel name -> the PNG shown."""
    import ipywidgets

    shown = {}
    for image in rc.find(ipywidgets.Image).widgets:
        for name in image._dom_classes:
            if name.startswith("peerscale-panel-"):
                shown[name.removeprefix("peerscale-panel-")] = bytes(image.value)
    return shown
