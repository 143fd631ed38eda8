"""The code habits run with the tests: ruff's rule set and mypy report nothing.

Both tools read their configuration from pyproject.toml ([tool.ruff], [tool.mypy]), so what runs
here is what `ruff check .` and `mypy` run by hand. A finding fails the test with the tool's own
report (file, line, rule), so the fix can start from the test output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .helpers import ROOT

PYPROJECT = ROOT / "pyproject.toml"


def _tool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run `python -m <tool> ...` from `cwd` and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=900,
        check=False,
    )


def test_ruff_finds_nothing_in_the_package_tests_experiments_and_benchmarks():
    """`ruff check .` (pyflakes, pycodestyle, isort, bugbear, docstrings, ...) is clean."""
    result = _tool("ruff", "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_no_type_error_in_the_package():
    """`mypy` over simulation/ (the numba kernels included) reports no error."""
    result = _tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_set_reports_what_it_promises(tmp_path):
    """A file with one mistake of each promised kind is reported for each of them.

    This guards the configuration itself: a rule family dropped from `select`, or a config file
    ruff no longer reads, would let the clean run above pass for the wrong reason.
    """
    planted = tmp_path / "planted.py"
    planted.write_text(
        '"""A module with one mistake of each kind."""\n'
        "\n"
        "import sys\n"
        "import os\n"  # I001: not sorted (and F401: unused)
        "from typing import Optional\n"
        "\n"
        "\n"
        "def pairs(a: list[int], b: list[int]) -> Optional[list]:\n"  # UP045: X | None
        "    return list(zip(a, b))\n"  # B905: zip without strict=
        "\n"
        "\n"
        "def undocumented() -> str:\n"  # D103: public function without a docstring
        f"    return {'x' * 100!r}\n"  # E501: longer than 100 characters
        "\n"
        "\n"
        "def bad(x: int) -> None:\n"
        '    """Bad."""\n'
        "    if x:\n"
        "        y = 1\n"
        "    else:\n"
        "        y = 2\n"  # SIM108: an if-else block for a conditional expression
        "    print(y, sys.argv)\n",
        encoding="utf-8",
    )
    result = _tool(
        "ruff", "check", "--no-cache", "--config", str(PYPROJECT), "--output-format", "concise",
        str(planted), cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    for code in ("F401", "I001", "UP045", "B905", "D103", "E501", "SIM108"):
        assert f" {code} " in result.stdout, (code, result.stdout)


def test_mypy_checks_the_bodies_of_untyped_functions(tmp_path):
    """With the project's settings, mypy reports a type error inside an unannotated function.

    Numba kernels are unannotated; check_untyped_defs is what makes mypy read their bodies.
    """
    planted = tmp_path / "planted.py"
    planted.write_text("def kernel(x):\n    return len(x) + 'one'\n", encoding="utf-8")
    result = _tool(
        "mypy", "--config-file", str(PYPROJECT), "--no-incremental", str(planted), cwd=tmp_path
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "planted.py:2: error: Unsupported operand types" in result.stdout, result.stdout
