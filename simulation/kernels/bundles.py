"""The bundles of arrays that the weekly kernels take, instead of long lists of positional arrays.

Each bundle is a namedtuple of arrays (and the odd integer) that always travel together:

- `AgentState`: the population's double-buffered state (docs/ODD.md section 2), read as last
  week's (`skill`, `flags`) and written as this week's (`skill_next`, `flags_next`);
- `Communities`: where each community's slots are and which blocks of whole communities a
  parallel task takes (core/blocks.py), with a shard's global id of slot 0 (docs/ODD.md 7.9);
- `BlockSums`: the per-block float64 sums and skill histogram that core/aggregates.py combines.

A rule for every kernel here (numba 0.68): **inside a `prange` loop, never take an array out
of a bundle**. numba's parallel pass silently drops writes to an array reached through a
namedtuple in a parallel loop's body (numba/numba#7135, open since 2021; reproduced here with
numba 0.68.1). As far as numba's source shows why: it passes the tuple to the loop as its fields
and rebuilds it there, and its dead-code elimination then sees no alias between the rebuilt
tuple's arrays and anything that outlives the loop. So the
body of a parallel loop is one call of a *block function* (`block_function`), which receives
the bundles as arguments and opens them; numba cannot look into the call, and the loop's body
has no aliases, so numba marks every array of the loop `noalias`, as before the split.

Bundles (and the rules, also namedtuples) cross from Python into a kernel as plain tuples of
their fields (`fields`), and the kernel names them again as its first statement
(`AgentState(*state)`). numba types a namedtuple argument at every call from its class and
field names: measured with numba 0.68.1, about 0.5 us per namedtuple and 0.1 us per field, so
the peer week's five bundles and 27 rules would cost about 6 us per call against 1.8 us as
plain tuples (the old call's separate arrays and rules namedtuple: 3.3 us). At 10^4 agents, a
week of about 0.3 ms, that was a measurable 2%.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numba.core.compiler import Compiler

if TYPE_CHECKING:
    from ..core.population import Population

AgentState = namedtuple("AgentState", ["skill", "skill_next", "motivation", "flags", "flags_next"])

Communities = namedtuple(
    "Communities",
    [
        "start",  # int64[C + 1]: first slot of each community, then the end
        "present",  # int64[C]: slots filled (arrived agents)
        "initial",  # int64[C]: agents at the start (study groups are formed from them)
        "blocks",  # int64[B + 1]: first community of each block, then the end
        "slot_offset",  # int64: global id of slot 0 (a shard's first slot): random numbers use it
        "community_offset",  # int64: global id of community 0 (the pool is in global order)
    ],
)

BlockSums = namedtuple("BlockSums", ["stats", "histogram"])


@njit(cache=True, inline="always")
def clear_block(sums, b):
    """Zero block b's row of the `BlockSums` before a kernel adds into it."""
    for k in range(sums.stats.shape[1]):
        sums.stats[b, k] = 0.0
    for k in range(sums.histogram.shape[1]):
        sums.histogram[b, k] = 0


def fields(bundle: tuple) -> tuple:
    """A bundle (or rules) as the plain tuple of its fields, to pass into a kernel.

    Args:
        bundle: a namedtuple of this module, kernels/pool.py, kernels/experts.py or the rules.

    Returns:
        The same values as a plain tuple; the kernel names them again (see the module
        docstring: why).
    """
    return tuple(bundle)


def agent_state(population: Population) -> AgentState:
    """The population's state arrays as they are now.

    Args:
        population: a population or shard (core/population.py).

    Returns:
        Its `AgentState`; make it afresh each week, as `Population.swap` exchanges the buffers.
    """
    p = population
    return AgentState(p.skill, p.skill_next, p.motivation, p.flags, p.flags_next)


def communities(population: Population, blocks: np.ndarray) -> Communities:
    """The population's community layout with a block layout.

    Args:
        population: a population or shard (core/population.py).
        blocks: its block layout (core.blocks.block_layout; a shard's blocks start at 0).

    Returns:
        Its `Communities`, with the shard's global ids of slot 0 and community 0.
    """
    p = population
    return Communities(p.community_start, p.community_present, p.community_initial, blocks,
                       np.int64(p.slot_offset), np.int64(p.community_offset))


class _BlockCompiler(Compiler):
    """numba's compiler, with every pointer argument marked `noalias` (see `block_function`)."""

    def define_pipelines(self) -> list:
        """The default pipelines, after setting the flag that numba lowers as `noalias`."""
        self.state.flags.noalias = True
        return super().define_pipelines()


def block_function(function: Callable[..., None]) -> Callable[..., None]:
    """Compile `function` as the body of a parallel loop over blocks: as fast as written there.

    A block function is compiled on its own and then inlined by LLVM into the parallel loop
    that calls it (`forceinline`). Compiled on its own, numba would let LLVM assume that any two
    arrays may overlap, so some passes over the lanes would not vectorise and others only behind
    run-time overlap checks (measured: 23% slower for the peer week at 10^6 agents on one core);
    so it is compiled as numba compiles a parallel loop's body: every array argument `noalias`
    (no array it writes is reachable through another argument: the state's two buffers, the
    lanes and the sums are separate allocations). Bundles passed to the inlined helpers would
    otherwise cost a reference-count update per array per helper call (`_nrt=False`: the block
    function allocates nothing, and its caller holds every array). numba's documented hook for
    this is a compiler class (`pipeline_class`, "Customizing the Compiler" in numba's developer
    docs).

    Args:
        function: a plain Python function of arrays, bundles and scalars that returns nothing.

    Returns:
        The numba dispatcher (cached on disk like every kernel).
    """
    # numba's type stubs leave out its `_nrt` option; the option itself is numba's own.
    jit = njit(  # type: ignore[call-overload]
        cache=True, forceinline=True, _nrt=False, pipeline_class=_BlockCompiler
    )
    return jit(function)
