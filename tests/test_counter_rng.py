"""The counter-based random numbers: uniform, independent of order, exact integer ranges."""

import numpy as np
from numba import njit

from simulation.core import counter_rng as R
from simulation.reference import peers as reference


def test_uniforms_lie_in_the_open_unit_interval_and_are_uniform():
    """Draws are in (0, 1) with mean 1/2 and variance 1/12."""
    u = R.uniforms(7, R.STREAM_STEP, 3, np.arange(200_000), 0)
    assert u.min() > 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.003
    assert abs(u.var() - 1 / 12) < 0.002


def test_a_draw_depends_only_on_its_coordinates():
    """The same (seed, stream, step, agent, draw) gives the same number whatever else is drawn."""
    agents = np.arange(1000)
    a = R.uniforms(1, R.STREAM_STEP, 5, agents, 2)
    b = R.uniforms(1, R.STREAM_STEP, 5, agents[::-1], 2)[::-1]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, R.uniforms(2, R.STREAM_STEP, 5, agents, 2))
    assert not np.array_equal(a, R.uniforms(1, R.STREAM_POOL, 5, agents, 2))
    assert not np.array_equal(a, R.uniforms(1, R.STREAM_STEP, 6, agents, 2))
    assert not np.array_equal(a, R.uniforms(1, R.STREAM_STEP, 5, agents, 3))


def test_kernel_hash_matches_the_plain_python_hash():
    """Numba's hash and the reference implementation's pure-Python hash agree bit for bit."""

    @njit
    def bits(seed, stream, step, agent, d):
        return R.draw(R.agent_key(R.step_key(np.uint64(seed), stream, step), agent), d)

    cases = [(0, 1, 0, 0, 0), (2**40 + 3, 3, 17, 10**9 + 7, 5), (5, 4, 99, 123, 97)]
    for seed, stream, step, agent, d in cases:
        key = reference.step_key(seed, stream, step)
        expected = reference.draw(reference.agent_key(key, agent), d)
        assert int(np.uint64(bits(seed, stream, step, agent, d))) == expected


def test_integer_draws_are_exact_for_any_range():
    """below() and below_wide() equal floor(bits * n / 2**64) computed with Python integers."""

    @njit
    def pick(bits, n, wide):
        return R.below_wide(bits, n) if wide else R.below(bits, n)

    rng = np.random.default_rng(0)
    for _ in range(200):
        bits = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2))
        n_small = int(rng.integers(1, 2**32))
        n_big = int(rng.integers(1, 2**62))
        assert pick(np.uint64(bits), n_small, False) == ((bits >> 32) * n_small) >> 32
        assert pick(np.uint64(bits), n_big, True) == (bits * n_big) >> 64
