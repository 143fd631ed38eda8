"""Counter-based random numbers: a pure function of (seed, stream, step, agent id, draw).

Every random number in PeerScale comes from here. Because a draw depends only on its
coordinates, results are identical for any thread count or shard layout, and two scenarios run
with one seed share their random numbers (common random numbers), so their difference is the
mechanism, not noise. The mixer is splitmix64's finaliser (Steele, Lea & Flood 2014), which
passes BigCrush when used as a counter-based generator.

Use: compute `step_key(seed, stream, step)` once per step outside the loop, `agent_key(key, i)`
once per agent, then `draw(agent_key, d)` per draw. Integers in [0, n) come from the high 32
bits times n, never from a float times n (a float32 has too few bits above 1.6e7 agents).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
# The largest float64 below 1. With the top 53 bits all ones, (2**53 - 1) + 0.5 is not a float64
# and rounds (to even) to 2**53, so `uniform` would give exactly 1.0 for those 2048 of the 2**64
# patterns (found by tests/test_properties.py); they are held just below 1 instead. No other
# value changes.
_BELOW_ONE = 1.0 - 2.0**-53

# Streams: one per kind of decision, so that adding draws to one never shifts another.
STREAM_INIT_SKILL = 1
STREAM_INIT_MOTIVATION = 2
STREAM_STEP = 3
STREAM_POOL = 4
STREAM_ARRIVALS = 5
STREAM_INIT_PROGRAMME = 6
STREAM_GROUPS = 7  # study groups: who organises each group (keyed by group id, step 0)
STREAM_DEAL = 8  # learning.tutor_capacity with pool contacts: the pool tutors' slots dealt out

# Draw numbers inside STREAM_INIT_PROGRAMME (per agent, step 0): 0 is enrolment.
DRAW_ROLE = 1  # learning.roles = split, tutor_selection = random: whether the agent tutors
DRAW_QUALITY = 2  # learning.strong_tutors: the tutor's place in recruitment (strong or not)

# Draw numbers inside STREAM_STEP (per agent per step); candidates use 0 .. k-1.
DRAW_POOL_BASE = 64
DRAW_SHOCK = 96
DRAW_EXPERT_SESSION = 97
DRAW_PRIORITY = 98  # learning.tutor_capacity: the learner's turn in matching to a tutor


@njit(uint64(uint64), cache=True, inline="always")
def mix(z):
    """splitmix64 finaliser: a bijective avalanche of 64 bits."""
    z = z + GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def step_key(seed, stream, step):
    """Key of one (seed, stream, step); computed once per step, outside the agent loop."""
    return mix(mix(mix(uint64(seed)) ^ uint64(stream)) ^ uint64(step))


@njit(cache=True, inline="always")
def agent_key(key, agent):
    """Key of one agent within a step key."""
    return mix(key ^ (uint64(agent) * GOLDEN))


@njit(cache=True, inline="always")
def draw(akey, d):
    """The d-th 64 random bits of an agent in a step."""
    return mix(akey + uint64(d) * _M2)


@njit(cache=True, inline="always")
def uniform(bits):
    """A float64 in the open interval (0, 1) from 64 random bits (53 significant bits)."""
    return min(((bits >> _S11) + 0.5) * _INV53, _BELOW_ONE)


@njit(cache=True, inline="always")
def below(bits, n):
    """An integer in [0, n) for n < 2**32, from the high 32 bits: ((bits >> 32) * n) >> 32."""
    return np.int64(((bits >> _S32) * uint64(n)) >> _S32)


@njit(cache=True, inline="always")
def below_wide(bits, n):
    """An integer in [0, n) for any n < 2**63, by splitting the 64 bits (for global indices)."""
    hi = bits >> _S32
    lo = bits & uint64(0xFFFFFFFF)
    nn = uint64(n)
    n_hi = nn >> _S32
    n_lo = nn & uint64(0xFFFFFFFF)
    # floor(bits * n / 2**64) computed with 32-bit limbs (exact).
    t = lo * n_lo
    t = (t >> _S32) + hi * n_lo
    u = (t & uint64(0xFFFFFFFF)) + lo * n_hi
    return np.int64(hi * n_hi + (t >> _S32) + (u >> _S32))


def key_for(seed: int, stream: int, step: int) -> np.uint64:
    """`step_key` called from Python, typed as uint64 for passing into kernels."""
    return np.uint64(step_key(np.uint64(seed), stream, step))


def uniforms(seed: int, stream: int, step: int, agents: np.ndarray, d: int) -> np.ndarray:
    """Vectorised `uniform(draw(agent_key(step_key(...), i), d))` for tests and Python code."""
    return _uniforms(np.uint64(seed), stream, step, np.asarray(agents, dtype=np.int64), d)


@njit(cache=True)
def _uniforms(seed, stream, step, agents, d):
    key = step_key(seed, stream, step)
    out = np.empty(agents.size, dtype=np.float64)
    for n in range(agents.size):
        out[n] = uniform(draw(agent_key(key, agents[n]), d))
    return out
