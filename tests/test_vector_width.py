"""The vector-width choice made at import (scale/vector_width.py) respects the user's settings."""

import os
import subprocess
import sys

import pytest

from .helpers import ROOT

PROBE = "import os, simulation.scale.vector_width as v; print(v.DECISION); print(os.environ.get('NUMBA_CPU_FEATURES', ''))"


def decide(**env) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_FEATURES", "PEERSCALE_VECTOR_WIDTH")}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean | env, capture_output=True,
                            text=True, check=True)
    return result.stdout.splitlines() + [""]


def test_opting_out_keeps_numbas_default():
    decision, features = decide(PEERSCALE_VECTOR_WIDTH="256")[:2]
    assert decision.startswith("256-bit preferred") and features == ""


def test_a_users_numba_cpu_features_are_left_alone():
    decision, features = decide(NUMBA_CPU_FEATURES="+sse2")[:2]
    assert decision == "NUMBA_CPU_FEATURES set by the user" and features == "+sse2"


def test_wide_vectors_only_where_the_cpu_has_avx512():
    from simulation.scale.vector_width import wide_vector_features

    decision, features = decide()[:2]
    wide = wide_vector_features()
    if wide is None:
        pytest.skip("this CPU has no AVX-512")
    assert decision == "512-bit vectors (AVX-512)" and features == wide and features.endswith(",-prefer-256-bit")
