"""Plain-Mesa reference implementations of the rules: one `mesa.Agent` per learner, no numba.

They restate the kernels' rules for reading and check them bit for bit (tests/test_reference.py,
tests/test_reference_groups.py); `peers` also serves as the plain-Mesa baseline of the
benchmarks. Small populations only.
"""
