"""The vector width chosen at import (simulation/scale/vector_width.py) respects user settings."""

import os
import subprocess
import sys

import pytest

from .helpers import ROOT

PROBE = (
    "import os, simulation.scale.vector_width as v; print(v.DECISION); "
    "print(os.environ.get('NUMBA_CPU_FEATURES', ''))"
)


def decide(**env: str) -> list[str]:
    """The decision and NUMBA_CPU_FEATURES of a fresh import, with `env` set and no prior choice."""
    ours = ("NUMBA_CPU_FEATURES", "PEERSCALE_VECTOR_WIDTH")
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean | env,
                            capture_output=True, text=True, check=True)
    return [*result.stdout.splitlines(), ""]


def test_opting_out_keeps_numbas_default():
    """PEERSCALE_VECTOR_WIDTH=256 keeps numba's default and sets no CPU features."""
    decision, features = decide(PEERSCALE_VECTOR_WIDTH="256")[:2]
    assert decision.startswith("256-bit preferred") and features == ""


def test_a_users_numba_cpu_features_are_left_alone():
    """NUMBA_CPU_FEATURES set by the user is kept as it is."""
    decision, features = decide(NUMBA_CPU_FEATURES="+sse2")[:2]
    assert decision == "NUMBA_CPU_FEATURES set by the user" and features == "+sse2"


def test_wide_vectors_only_where_the_cpu_has_avx512():
    """512-bit vectors are chosen exactly where the CPU has AVX-512."""
    from simulation.scale.vector_width import wide_vector_features

    decision, features = decide()[:2]
    wide = wide_vector_features()
    if wide is None:
        pytest.skip("this CPU has no AVX-512")
    assert decision == "512-bit vectors (AVX-512)" and features == wide
    assert features.endswith(",-prefer-256-bit")
