"""Environment variables read at import, checked before numba reads them.

numba reads NUMBA_NUM_THREADS when it is imported: a value that is not a whole number makes it
print a warning with a traceback, and 0 or less fails the first parallel kernel with one. This
module runs first (simulation/__init__.py imports it before anything that imports numba): it
takes a bad value out of the environment, so numba never sees it, and keeps the reason, which
the CLI prints in one line (exit code 2) and the model raises as a ScenarioError. It imports
nothing of the package, so that it can run first.

PEERSCALE_VECTOR_WIDTH (scale/vector_width.py) is checked here too: 256 or 512, or unset.
PEERSCALE_MEMORY_AVAILABLE is read, and checked, by the memory guard (scale/memory.py).
"""

from __future__ import annotations

import os

# (variable, what was wrong and what is allowed) for each bad variable found at import.
PROBLEMS: list[tuple[str, str]] = []


def _check_threads() -> None:
    text = os.environ.get("NUMBA_NUM_THREADS")
    if text is None:
        return
    try:
        valid = int(text.strip()) >= 1
    except ValueError:
        valid = False
    if not valid:
        PROBLEMS.append(("NUMBA_NUM_THREADS",
                         f"invalid value {text!r}: allowed a whole number of threads, 1 or more"))
        del os.environ["NUMBA_NUM_THREADS"]


def _check_vector_width() -> None:
    text = os.environ.get("PEERSCALE_VECTOR_WIDTH")
    if text is not None and text.strip() not in ("", "256", "512"):
        PROBLEMS.append(("PEERSCALE_VECTOR_WIDTH",
                         f"invalid value {text!r}: allowed 256 or 512 (bits), or unset"))


_check_threads()
_check_vector_width()
