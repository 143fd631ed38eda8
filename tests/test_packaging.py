"""The wheel that `pip install .` builds holds every module of the source tree, and each imports.

The README's first command installs non-editably; a subpackage missing from the wheel (as
simulation/dashboard once was) only shows there, never in an editable install.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .helpers import ROOT

MODULES = sorted(
    p.relative_to(ROOT).as_posix()
    for p in (ROOT / "simulation").rglob("*.py")
    if "__pycache__" not in p.parts
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel .` builds from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (built,) = out.glob("peerscale-*.whl")
    return built


def test_the_wheel_holds_every_module_of_the_source_tree(wheel):
    """Package discovery, not a hand list: every simulation/**/*.py is in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [m for m in MODULES if m not in names]
    assert not missing, f"not in the wheel: {missing}"


def test_every_module_imports_from_the_installed_wheel(wheel, tmp_path):
    """Unpacked on its own (no source tree on the path), every module imports from the wheel."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    modules = [m.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for m in MODULES]
    code = (
        "import importlib, simulation, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(simulation.__file__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={
            "PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
            "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith(str(site)), result.stdout
