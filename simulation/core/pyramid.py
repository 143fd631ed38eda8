"""The initial expertise pyramid: many novices at the bottom, few experts at the top.

Two shapes (docs/ODD.md, section 5): stacked `layers`, each `ratio` times the size of the layer
below, with skill uniform within a layer; or a continuous density proportional to exp(-decay *
skill) on [0, top_skill]. Both are drawn per agent from the counter-based random numbers, in
parallel, with no population-sized float64 temporaries.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SHAPE_LAYERS = 0
SHAPE_EXPONENTIAL = 1


def layer_cumulative(layers: int, ratio: float) -> np.ndarray:
    """Cumulative share of agents in layers 0 (bottom) .. layers-1 (top)."""
    weights = ratio ** np.arange(layers, dtype=np.float64)
    return np.cumsum(weights) / weights.sum()


@njit(cache=True, inline="always")
def pyramid_skill(u_layer, u_within, shape, cumulative, decay, top_skill):
    """Initial skill of one agent from two uniforms."""
    if shape == SHAPE_EXPONENTIAL:
        return -np.log(1.0 - u_layer * (1.0 - np.exp(-decay * top_skill))) / decay
    layers = cumulative.size
    layer = 0
    while layer < layers - 1 and u_layer > cumulative[layer]:
        layer += 1
    return top_skill * (layer + u_within) / layers


@njit(cache=True, inline="always")
def novice_skill(u, top_skill, layers):
    """Skill of a newly arriving novice: uniform within the bottom layer."""
    return top_skill * u / layers


def expected_layer_counts(size: int, layers: int, ratio: float) -> np.ndarray:
    """Expected number of agents per layer (for tests and docs)."""
    weights = ratio ** np.arange(layers, dtype=np.float64)
    return size * weights / weights.sum()
