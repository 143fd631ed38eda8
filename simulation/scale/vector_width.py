"""Which vector width numba compiles the kernels for: 512 bits where the CPU has AVX-512.

LLVM, and so numba, prefers 256-bit vectors even on CPUs with AVX-512 (the `prefer-256-bit`
tuning, chosen for older Intel parts that slowed their clock for 512-bit work). PeerScale's
kernels are compute-bound, and on the reference machine (Sapphire Rapids) 512-bit vectors make
the weekly step about 15% faster (35 -> 30 CPU-ns per agent for peer_only at 10^7;
docs/performance.md, Tuning) with exactly the same numbers: every sum whose order matters is
written as a scalar loop in agent order, so the vector width cannot change a result (checked by
tests/test_performance_regression.py and tests/test_reference.py under either width).

numba reads NUMBA_CPU_FEATURES once, when it is first imported, and applies it to every function
in the process, so this must run before numba is imported and leaves alone a process that has
imported numba already or that sets NUMBA_CPU_FEATURES itself. PEERSCALE_VECTOR_WIDTH=256 keeps
LLVM's default. numba caches compiled code per CPU-feature string, so neither choice reuses the
other's cache.
"""

from __future__ import annotations

import os
import sys

ENV = "PEERSCALE_VECTOR_WIDTH"


def wide_vector_features() -> str | None:
    """This CPU's LLVM feature string with 512-bit vectors allowed, or None without AVX-512."""
    import llvmlite.binding as llvm  # llvmlite alone does not start numba

    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" not in features.split(","):
        return None
    return features + ",-prefer-256-bit"


def configure() -> str:
    """Allow 512-bit vectors if possible and allowed; returns what was decided, for provenance."""
    if os.environ.get(ENV, "").strip() == "256":
        return f"256-bit preferred ({ENV}=256)"
    if "NUMBA_CPU_FEATURES" in os.environ:
        return "NUMBA_CPU_FEATURES set by the user"
    if "numba" in sys.modules:
        return "numba imported before PeerScale: its default (256-bit preferred)"
    try:
        features = wide_vector_features()
    except (ImportError, AttributeError, RuntimeError) as error:
        # No way to query the host's features: numba's default.
        return f"numba's default ({error.__class__.__name__})"
    if features is None:
        return "numba's default (no AVX-512)"
    os.environ["NUMBA_CPU_FEATURES"] = features
    return "512-bit vectors (AVX-512)"


DECISION = configure()
