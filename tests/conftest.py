"""Shared fixtures."""

from pathlib import Path

import pytest


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """A folder for hand-written scenario files."""
    d = tmp_path / "scenarios"
    d.mkdir()
    return d
