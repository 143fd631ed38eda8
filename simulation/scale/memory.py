"""The memory a scenario needs, the memory this machine has, and a guard between them.

PeerScale keeps a population in fixed arrays (core/population.py), so what a run needs is known
before anything is allocated: 12 bytes per agent slot (skill and next skill as float32, motivation
as uint16, flags and next flags as uint8), 24 bytes per community, and small per-week arrays (the
global pool, the kernel's scratch lanes, the per-block sums). `estimate_bytes` adds these up;
`check` compares them with what is available (MemAvailable from /proc/meminfo, lowered by a
cgroup memory limit if the process runs under one) and refuses, in one line, a scenario that
would not fit, saying how much it needs, how much there is and the largest population that fits.
docs/performance.md gives the budget in full.

Set PEERSCALE_MEMORY_AVAILABLE (bytes, or with a suffix such as 8G) to pretend the machine has
less memory than it has, e.g. to leave room for other work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.errors import ScenarioError
from ..core.blocks import HISTOGRAM_BINS, N_STATS, block_layout
from ..structures.base import Layout

if TYPE_CHECKING:
    from ..config.schema import Scenario

# Bytes per agent slot: skill + skill_next (float32), motivation (uint16), flags + flags_next.
BYTES_PER_SLOT = 4 + 4 + 2 + 1 + 1
# Bytes per community: first slot (int64, plus one end), filled slots and initial size (int64).
BYTES_PER_COMMUNITY = 8 + 8 + 8

ENV_AVAILABLE = "PEERSCALE_MEMORY_AVAILABLE"


class MemoryBudgetError(ScenarioError):
    """A scenario needs more memory than this machine (or its cgroup) has available."""


# ----------------------------------------------------------------------------------------------
# What a scenario needs


def _layout(size: int, community_size: int, arrival_rate: float, steps: int) -> tuple[int, int]:
    """(communities, slots) of population.community_layout, without allocating its arrays."""
    count = max(1, size // community_size)
    base, extra = divmod(size, count)
    if arrival_rate <= 0.0:
        return count, size
    # Reserved arrivals: ceil(initial * rate) * steps per community, for both community sizes.
    import math

    def reserved(initial: int) -> int:
        return math.ceil(initial * arrival_rate) * steps if initial else 0

    slots = size + extra * reserved(base + 1) + (count - extra) * reserved(base)
    return count, slots


def budget(scenario: Scenario, size: int | None = None) -> dict[str, int]:
    """Bytes of each part of a run of `scenario` (with population.size replaced by `size`).

    Parts: `agents` (the state arrays, double buffers included), `communities`, `blocks` (per-block
    sums and skill histograms), then the structure's own (its `memory` declaration: e.g. `experts`,
    `study_groups`), of which two exist only while a week is computed (WEEKLY_PARTS): `pool` (the
    global pool and, at connectivity 2, its sorted copy) and `kernel` (the weekly kernel's scratch).
    """
    pop = scenario.population
    size = pop.size if size is None else int(size)
    communities, slots = _layout(size, pop.community_size, pop.arrival_rate, scenario.run.steps)
    blocks = block_layout(communities, slots).size - 1
    layout = Layout(size, communities, slots, blocks, -(-slots // communities))
    parts = {
        "agents": BYTES_PER_SLOT * slots,
        "communities": BYTES_PER_COMMUNITY * communities + 8,
        "blocks": blocks * (N_STATS * 8 + HISTOGRAM_BINS * 8),
    }
    parts.update(scenario.structure.memory(scenario, layout))
    if pop.arrival_rate > 0.0:
        parts["communities"] += 8 * communities  # arrivals per community, each week
    return parts


# The parts of `budget` that exist only while a week is computed (the rest lasts the whole run).
WEEKLY_PARTS = ("pool", "kernel")


def estimate_bytes(scenario: Scenario, size: int | None = None) -> int:
    """Bytes a run of `scenario` allocates at its peak (all parts of `budget`)."""
    return sum(budget(scenario, size).values())


def largest_population(scenario: Scenario, available: int) -> int:
    """The largest population.size whose estimate fits in `available` bytes (0 if none does)."""
    lo, hi = 0, 2
    while estimate_bytes(scenario, hi) <= available:
        lo, hi = hi, hi * 2
        if hi > 10**13:
            return lo
    while hi - lo > 1:  # estimate_bytes grows with the size: bisect
        mid = (lo + hi) // 2
        if estimate_bytes(scenario, mid) <= available:
            lo = mid
        else:
            hi = mid
    return lo if lo >= 2 else 0


# ----------------------------------------------------------------------------------------------
# What this machine has


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _stat_value(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_dirs() -> list[tuple[Path, str]]:
    """Memory cgroup folders of this process, innermost first, with their version ('1' or '2')."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            root, version = Path("/sys/fs/cgroup"), "2"
            if not (root / "cgroup.controllers").exists():
                root = Path("/sys/fs/cgroup/unified")
        elif "memory" in controllers.split(","):
            root, version = Path("/sys/fs/cgroup/memory"), "1"
        else:
            continue
        here = root / path.lstrip("/")
        # Walk up to the mount: a limit anywhere above applies too. Inside a cgroup namespace the
        # path may not exist under the mount; then the mount's own files describe our cgroup.
        while True:
            if here.is_dir():
                found.append((here, version))
            if here == root or root not in here.parents:
                break
            here = here.parent
    return found


def _cgroup_available() -> int | None:
    """Bytes left under the tightest cgroup memory limit, or None if there is no limit."""
    best = None
    for folder, version in _cgroup_dirs():
        if version == "2":
            limit, usage = _read_int(folder / "memory.max"), _read_int(folder / "memory.current")
            reclaimable = _stat_value(folder / "memory.stat", "inactive_file")
        else:
            limit = _read_int(folder / "memory.limit_in_bytes")
            usage = _read_int(folder / "memory.usage_in_bytes")
            reclaimable = _stat_value(folder / "memory.stat", "total_inactive_file")
        if limit is None or usage is None or limit >= 2**60:  # "max" or the v1 "no limit" value
            continue
        left = max(0, limit - usage + reclaimable)
        best = left if best is None else min(best, left)
    return best


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def parse_bytes(text: str) -> int:
    """'8G', '512M', '1.5e9' or '1000000' as bytes (K, M, G, T are powers of 1024).

    Raises ValueError for anything else, including nan, inf, negative amounts and amounts beyond
    2**63 bytes (no machine has them; int(float('inf')) would raise OverflowError instead).
    """
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    scale = 1
    if text and text[-1] in units:
        scale, text = units[text[-1]], text[:-1]
    value = float(text) * scale
    if not 0 <= value < 2**63:  # also false for nan
        raise ValueError(f"{text!r} is not an amount of bytes")
    return int(value)


def available_bytes() -> tuple[int | None, str]:
    """Bytes this process may still allocate, and where the figure comes from (for messages)."""
    sources = []
    override = os.environ.get(ENV_AVAILABLE)
    if override:
        try:
            sources.append((parse_bytes(override), ENV_AVAILABLE))
        except ValueError:
            raise ScenarioError(
                ENV_AVAILABLE, f"invalid value {override!r}: allowed a number of bytes from 0 to "
                "2**63, such as 8G, 512M or 8000000000"
            ) from None
    meminfo = _meminfo_available()
    if meminfo is not None:
        sources.append((meminfo, "MemAvailable"))
    cgroup = _cgroup_available()
    if cgroup is not None:
        sources.append((cgroup, "cgroup limit"))
    if not sources:
        return None, "unknown"
    value, source = min(sources)
    return value, source


# The last reading of `available_bytes`: (monotonic time, environment override, bytes, source).
# Inside `recent_readings()` (a sweep's runs), a model far smaller than the memory read a moment
# ago is checked against that reading: a sweep builds dozens of small models a second, and each
# reading costs about a millisecond (the cgroup files and /proc/meminfo). Anything larger, and
# every check outside that block, reads afresh.
_RECENT: tuple[float, str | None, int | None, str] | None = None
_REUSE = 0  # how many `recent_readings` blocks are open
RECENT_SECONDS = 2.0
RECENT_SHARE = 1 / 16


@contextmanager
def recent_readings() -> Iterator[None]:
    """Within this block, `check` may reuse a reading under 2 s old for a model far below it."""
    global _REUSE
    _REUSE += 1
    try:
        yield
    finally:
        _REUSE -= 1


def _available_for(need: int) -> tuple[int | None, str]:
    """`available_bytes`, or in `recent_readings` a recent reading far above `need`."""
    global _RECENT
    now, override = time.monotonic(), os.environ.get(ENV_AVAILABLE)
    if _REUSE and _RECENT is not None:
        when, seen, available, where = _RECENT
        if (seen == override and now - when < RECENT_SECONDS and available is not None
                and need <= available * RECENT_SHARE):
            return available, where
    available, where = available_bytes()
    _RECENT = (now, override, available, where)
    return available, where


def gib(n: float) -> str:
    """Bytes in GiB, to one decimal: '1.5 GiB'."""
    return f"{n / 1024**3:.1f} GiB"


def check(scenario: Scenario, source: str | None = None, share: float = 1.0) -> int:
    """Refuse a scenario that needs more memory than is available; return the bytes it needs.

    `share` < 1: only that share of the population is held here (a shard on a worker).
    Raises MemoryBudgetError (a ScenarioError: the CLI reports it in one line, exit code 2).
    Where the available memory cannot be read, nothing is refused.
    """
    need = int(estimate_bytes(scenario) * share)
    available, where = _available_for(need)
    if available is None or need <= available:
        return need
    size = scenario.population.size
    fits = largest_population(scenario, int(available / share))
    held = f"{size:,} agents" if share >= 1.0 else f"a shard of {share:.0%} of {size:,} agents"
    raise MemoryBudgetError(
        source or f"scenario '{scenario.name}'",
        f"{held} need about {gib(need)} of memory ({need / (size * share):.1f} bytes per agent), "
        f"but only {gib(available)} is available ({where}); the largest population that fits is "
        f"about {fits:,} agents" + ("" if share >= 1.0 else " at this share"),
        key="population.size",
    )
