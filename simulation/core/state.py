"""What a checkpoint holds of a run's state: named numpy arrays and plain numbers.

The population (core/population.py), a structure's engine (structures/base.py) and a shard
(scale/sharding.py) each give their state as a dict of these; scale/checkpoint.py writes and reads
such dicts without knowing what they mean, so new state is checkpointed by declaring it where it
lives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

StateValue = np.ndarray | float | int


def number(name: str, value: Any) -> float | int:
    """`value` as a plain int or float (a checkpoint holds arrays and numbers only)."""
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    raise ValueError(f"{name}: a checkpoint holds arrays and numbers, not {type(value).__name__}")


def restore_array(target: np.ndarray, saved: Any, name: str) -> None:
    """Copy `saved` into `target` in place, refusing another dtype or shape (ValueError)."""
    if not isinstance(saved, np.ndarray):
        raise ValueError(f"{name}: saved as {type(saved).__name__}, expected an array")
    if saved.dtype != target.dtype or saved.shape != target.shape:
        raise ValueError(
            f"{name}: saved as {saved.dtype}{list(saved.shape)}, but this run holds "
            f"{target.dtype}{list(target.shape)} (a checkpoint of another scenario or layout)"
        )
    np.copyto(target, saved)
