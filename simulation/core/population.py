"""Population state as a structure of arrays, grouped into contiguous communities.

Per agent (12 bytes; see docs/performance.md for the budget):
- `skill`, `skill_next`: float32 expertise, 0 = novice, 1 = today's frontier. Two buffers because
  all updates in a step are synchronous: every agent reads last week's skills.
- `motivation`: uint16, engagement in [0, 1] in steps of 1/65535 (exact, 2 bytes instead of 4).
- `flags`, `flags_next`: uint8 bits (core/encoding.py): present (has arrived), active (has not
  dropped out), enrolled in the programme, and whether the agent was ever a tutee, a tutor or
  taught by an expert (the groups a virtual trial compares). Double-buffered because others read
  an agent's active bit while it may drop out.

Per community: the first slot, the slots reserved (capacity) and the slots filled. A community is
a contiguous block, so local contacts stay close in memory; capacity reserved up front lets new
novices arrive without reallocation (docs/ODD.md, section 3: arrivals).
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from .blocks import block_layout
from .counter_rng import (
    DRAW_QUALITY,
    DRAW_ROLE,
    STREAM_ARRIVALS,
    STREAM_INIT_MOTIVATION,
    STREAM_INIT_PROGRAMME,
    STREAM_INIT_SKILL,
    agent_key,
    below,
    draw,
    step_key,
    uniform,
)
from .encoding import ACTIVE, IN_PROGRAMME, MOTIVATION_SCALE, PRESENT, TUTOR_ROLE
from .pyramid import SHAPE_EXPONENTIAL, SHAPE_LAYERS, layer_cumulative, novice_skill, pyramid_skill
from .state import restore_array

if TYPE_CHECKING:
    from ..config.schema import Scenario


@dataclass
class Population:
    """The arrays of one population; see the module docstring for their meaning."""

    skill: np.ndarray
    skill_next: np.ndarray
    motivation: np.ndarray
    flags: np.ndarray
    flags_next: np.ndarray
    community_start: np.ndarray  # int64[C + 1]: first slot of each community, then the end
    community_present: np.ndarray  # int64[C]: slots filled (arrived agents) in each community
    community_initial: np.ndarray  # int64[C]: agents at the start
    # A shard (simulation/scale/sharding.py) holds a range of whole communities: its slot 0 is
    # global slot `slot_offset` and its community 0 global community `community_offset`. Random
    # numbers are keyed by global ids, so a shard draws exactly what the whole population would.
    slot_offset: int = 0
    community_offset: int = 0

    @property
    def capacity(self) -> int:
        """Agent slots, arrivals' reserved slots included."""
        return int(self.skill.size)

    @property
    def communities(self) -> int:
        """Communities held here."""
        return int(self.community_present.size)

    def swap(self) -> None:
        """Make last step's output the current state (synchronous update)."""
        self.skill, self.skill_next = self.skill_next, self.skill
        self.flags, self.flags_next = self.flags_next, self.flags

    def motivation_float(self) -> np.ndarray:
        """Motivation as numbers in [0, 1] (it is stored in 1/65535 steps)."""
        return self.motivation.astype(np.float64) / MOTIVATION_SCALE

    def mask(self, bit: int) -> np.ndarray:
        """Per slot: whether the flag `bit` (core.encoding) is set."""
        return (self.flags & bit) != 0

    # Checkpoints (scale/checkpoint.py) save every array of the population except the `*_next`
    # buffers: the weekly kernels write next week's value of every filled slot, and both buffers
    # hold the same value in a slot not yet filled, so a buffer restored as a copy of its array
    # gives the same next week. An array added here is saved with no other change.
    LAYOUT = ("community_start", "community_initial")  # fixed by the scenario: checked, not copied

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)}

    def state(self) -> dict[str, np.ndarray]:
        """The arrays a checkpoint saves (not copied), by name."""
        return {k: v for k, v in self._arrays().items() if not k.endswith("_next")}

    def restore(self, state: dict) -> None:
        """Copy saved arrays back in place, rebuild the `*_next` buffers; ValueError if off."""
        arrays = self._arrays()
        for name, current in arrays.items():
            if name.endswith("_next"):
                continue
            if name not in state:
                raise ValueError(f"population.{name}: not in the checkpoint")
            if name in self.LAYOUT:
                if not np.array_equal(current, state[name]):
                    raise ValueError(f"population.{name}: another community layout")
                continue
            restore_array(current, state[name], f"population.{name}")
        for name, buffer in arrays.items():
            base = name.removesuffix("_next")
            if name.endswith("_next") and base in arrays:
                np.copyto(buffer, arrays[base])


def community_layout(size: int, community_size: int, arrival_rate: float, steps: int):
    """Initial size and reserved capacity of each community.

    Communities have `community_size` agents; the remainder goes to the last one (or forms one
    community if the population is smaller). Capacity adds the arrivals of `steps` weeks.
    """
    count = max(1, size // community_size)
    initial = np.full(count, size // count, dtype=np.int64)
    initial[: size - initial.sum()] += 1  # spread the remainder over the first communities
    arrivals = np.ceil(initial * arrival_rate).astype(np.int64) * steps
    capacity = initial + arrivals
    start = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(capacity, out=start[1:])
    return start, initial


# State arrays of at least this many bytes are mapped directly from the operating system.
LARGE_ARRAY_BYTES = 1 << 26


def _state_array(n: int, dtype) -> np.ndarray:
    """An uninitialised array of n elements; large ones in plain (4 kB) pages of their own.

    numpy asks the kernel for transparent huge pages on large arrays; on a machine whose memory
    is fragmented the kernel then compacts memory on every first touch, which made initialising
    10^9 agents about twice as slow (docs/performance.md). The kernels stream through these
    arrays, so small pages cost the weekly step nothing measurable.
    """
    dtype = np.dtype(dtype)
    nbytes = n * dtype.itemsize
    private = getattr(mmap, "MAP_PRIVATE", None)  # Unix; elsewhere numpy's own allocation
    if nbytes < LARGE_ARRAY_BYTES or private is None:
        return np.empty(n, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=private), dtype=dtype, count=n)


def allocate(size: int, community_size: int, arrival_rate: float = 0.0, steps: int = 0,
             communities: tuple[int, int] | None = None) -> Population:
    """Allocate the arrays for a population (uninitialised state).

    `communities` = (first, end) allocates only that range of the layout's communities: a shard.
    """
    start, initial = community_layout(size, community_size, arrival_rate, steps)
    first, end = communities if communities is not None else (0, initial.size)
    offset = int(start[first])
    n = int(start[end]) - offset
    return Population(
        skill=_state_array(n, np.float32),
        skill_next=_state_array(n, np.float32),
        motivation=_state_array(n, np.uint16),
        flags=_state_array(n, np.uint8),
        flags_next=_state_array(n, np.uint8),
        community_start=start[first:end + 1] - offset,
        community_present=initial[first:end].copy(),
        community_initial=initial[first:end].copy(),
        slot_offset=offset,
        community_offset=int(first),
    )


def pyramid_code(shape: str) -> int:
    """The kernels' code of a pyramid.shape ('layers' or 'exponential')."""
    return SHAPE_EXPONENTIAL if shape == "exponential" else SHAPE_LAYERS


def initialise(pop: Population, scenario: Scenario, seed: int) -> None:
    """Fill the arrays with the initial pyramid and motivations (parallel, counter-based)."""
    p, m = scenario.pyramid, scenario.motivation
    _initialise(
        pop.skill, pop.skill_next, pop.motivation, pop.flags, pop.flags_next, pop.community_start,
        pop.community_present, block_layout(pop.communities, pop.capacity), np.uint64(seed),
        pyramid_code(p.shape), layer_cumulative(p.layers, p.ratio), p.decay, p.top_skill,
        m.initial_min, m.initial_max,
        scenario.learning.participation, np.int64(pop.slot_offset),
    )
    learn = scenario.learning
    if learn.roles == "split":
        _assign_roles(
            pop.skill, pop.flags, pop.flags_next, pop.community_start, pop.community_present,
            block_layout(pop.communities, pop.capacity), np.uint64(seed), learn.tutor_share,
            learn.tutor_selection == "top_skill", np.int64(pop.slot_offset),
        )


def tutors_needed(scenario: Scenario) -> int:
    """Tutors a programme needs: its participants, or its tutors when roles are split.

    From the scenario alone (population.size x participation, x tutor_share if split; at least
    1), so every shard and thread knows it without a pass over the population.
    """
    learn = scenario.learning
    share = learn.tutor_share if learn.roles == "split" else 1.0
    return max(1, int(np.floor(scenario.population.size * learn.participation * share + 0.5)))


@njit(cache=True, inline="always")
def is_strong_tutor(quality_key, agent, share):
    """Whether the tutor with global id `agent` is strong (learning.strong_tutors).

    Its own draw (DRAW_QUALITY of the programme stream, `quality_key`) is its place in the
    recruitment order, strong below `share` (`strong_share`): a pure function of seed and id, so
    nothing is stored and every block and shard knows it.
    """
    return uniform(draw(agent_key(quality_key, agent), DRAW_QUALITY)) < share


def strong_share(scenario: Scenario) -> float:
    """The chance a tutor is strong: min(1, learning.strong_tutors / tutors needed); 0 if none."""
    strong = scenario.learning.strong_tutors
    return min(1.0, strong / tutors_needed(scenario)) if strong > 0 else 0.0


def tutor_count(share: float, participants: int) -> int:
    """Tutors of a community with `participants` enrolled members: share x n, rounded half up."""
    return int(np.floor(share * participants + 0.5))


@njit(parallel=True, cache=True)
def _assign_roles(skill, flags, flags_next, community_start, community_present, block_community,
                  seed, share, by_skill, slot_offset):
    """Split programmes (learning.roles = split): set TUTOR_ROLE on each community's tutors.

    By starting skill: the `share` most skilled participants of each community (rounded half up;
    equal skills: the lower slot first), as older or more advanced pupils tutor the others. At
    random: each participant tutors with probability `share`, by its own draw (DRAW_ROLE of
    STREAM_INIT_PROGRAMME, keyed by the global id). A community is one block's, so the roles
    are the same on any thread or shard count.
    """
    key = step_key(seed, STREAM_INIT_PROGRAMME, 0)
    for b in prange(block_community.size - 1):
        for c in range(block_community[b], block_community[b + 1]):
            first = community_start[c]
            n = community_present[c]
            enrolled = np.empty(n, dtype=np.int64)
            values = np.empty(n)
            m = 0
            for i in range(first, first + n):
                if flags[i] & IN_PROGRAMME:
                    enrolled[m] = i
                    values[m] = -np.float64(skill[i])  # ascending order: the most skilled first
                    m += 1
            if by_skill:
                order = np.argsort(values[:m], kind="mergesort")  # stable: lower slot first
                tutors = np.int64(np.floor(share * m + 0.5))
                for r in range(tutors):
                    i = enrolled[order[r]]
                    flags[i] |= TUTOR_ROLE
                    flags_next[i] |= TUTOR_ROLE
            else:
                for r in range(m):
                    i = enrolled[r]
                    if uniform(draw(agent_key(key, i + slot_offset), DRAW_ROLE)) < share:
                        flags[i] |= TUTOR_ROLE
                        flags_next[i] |= TUTOR_ROLE


@njit(cache=True, inline="always")
def _motivation_code(u, lo, hi):
    return np.uint16(np.floor((lo + u * (hi - lo)) * MOTIVATION_SCALE + 0.5))


# Agents are initialised in chunks of INIT_CHUNK slots: the random draws of a chunk in one pass
# (which vectorises), then the pyramid's skills (a short search per agent) in another.
INIT_CHUNK = 256


@njit(parallel=True, cache=True)
def _initialise(skill, skill_next, motivation, flags, flags_next, community_start,
                community_present, block_community, seed, shape, cumulative, decay, top_skill,
                motivation_min, motivation_max, participation, slot_offset):
    key_skill = step_key(seed, STREAM_INIT_SKILL, 0)
    key_motivation = step_key(seed, STREAM_INIT_MOTIVATION, 0)
    key_programme = step_key(seed, STREAM_INIT_PROGRAMME, 0)
    rows = block_community.size - 1
    lane_layer = np.empty((rows, INIT_CHUNK))  # the two uniforms that place an agent in the pyramid
    lane_within = np.empty((rows, INIT_CHUNK))
    for b in prange(rows):
        for c in range(block_community[b], block_community[b + 1]):
            first = community_start[c]
            filled = first + community_present[c]
            for chunk in range(first, filled, INIT_CHUNK):
                lanes = min(INIT_CHUNK, filled - chunk)
                for q in range(lanes):
                    i = chunk + q
                    g = i + slot_offset  # the global id keys the random numbers
                    a = agent_key(key_skill, g)
                    lane_layer[b, q] = uniform(draw(a, 0))
                    lane_within[b, q] = uniform(draw(a, 1))
                    u = uniform(draw(agent_key(key_motivation, g), 0))
                    motivation[i] = _motivation_code(u, motivation_min, motivation_max)
                    enrolled = uniform(draw(agent_key(key_programme, g), 0)) < participation
                    f = (PRESENT | ACTIVE | IN_PROGRAMME) if enrolled else (PRESENT | ACTIVE)
                    flags[i] = f
                    flags_next[i] = f
                for q in range(lanes):
                    s = np.float32(pyramid_skill(
                        lane_layer[b, q], lane_within[b, q], shape, cumulative, decay, top_skill
                    ))
                    skill[chunk + q] = s
                    skill_next[chunk + q] = s
            # Reserved slots (future arrivals): empty.
            for i in range(filled, community_start[c + 1]):
                skill[i] = np.float32(0.0)
                skill_next[i] = np.float32(0.0)
                motivation[i] = np.uint16(0)
                flags[i] = np.uint8(0)
                flags_next[i] = np.uint8(0)


def arrive(pop: Population, scenario: Scenario, seed: int, step: int) -> int:
    """New novices enter at the bottom of every community (docs/ODD.md, section 3).

    Returns:
        How many novices arrived this week.
    """
    rate = scenario.population.arrival_rate
    if rate <= 0.0:
        return 0
    p, m = scenario.pyramid, scenario.motivation
    return int(_arrive(
        pop.skill, pop.skill_next, pop.motivation, pop.flags, pop.flags_next, pop.community_start,
        pop.community_present, pop.community_initial, np.uint64(seed), step, rate, p.top_skill,
        novice_layers(scenario), m.initial_min, m.initial_max,
        scenario.learning.participation, np.int64(pop.slot_offset), np.int64(pop.community_offset),
    ))


@njit(parallel=True, cache=True)
def _arrive(skill, skill_next, motivation, flags, flags_next, community_start, community_present,
            community_initial, seed, step, rate, top_skill, layers, motivation_min, motivation_max,
            participation, slot_offset, community_offset):
    key = step_key(seed, STREAM_ARRIVALS, step)
    communities = community_present.size
    arrived = np.zeros(communities, dtype=np.int64)
    for c in prange(communities):
        room = community_start[c + 1] - community_start[c] - community_present[c]
        n_new = arrivals_in_week(key, c + community_offset, community_initial[c], rate, room)
        first = community_start[c] + community_present[c]
        for i in range(first, first + n_new):
            a = agent_key(key, i + slot_offset)
            s = np.float32(novice_skill(uniform(draw(a, 1)), top_skill, layers))
            skill[i] = s
            skill_next[i] = s
            motivation[i] = _motivation_code(uniform(draw(a, 2)), motivation_min, motivation_max)
            f = PRESENT | ACTIVE
            if uniform(draw(a, 3)) < participation:
                f |= IN_PROGRAMME
            flags[i] = f
            flags_next[i] = f
        community_present[c] += n_new
        arrived[c] = n_new
    return arrived.sum()


@njit(cache=True, inline="always")
def arrivals_in_week(key, community, initial, rate, room):
    """Novices arriving in one community in the week of `key` (global community id)."""
    expected = rate * initial
    whole = np.int64(expected)
    # The fractional part arrives with its probability, decided by the community's own draw.
    if uniform(draw(agent_key(key, community), 0)) < expected - whole:
        whole += 1
    return min(whole, room)


@njit(cache=True, inline="always")
def initial_skill(key_skill, g, shape, cumulative, decay, top_skill):
    """The skill `_initialise` gives global slot g (key_skill: the STREAM_INIT_SKILL key)."""
    a = agent_key(key_skill, g)
    return np.float32(pyramid_skill(
        uniform(draw(a, 0)), uniform(draw(a, 1)), shape, cumulative, decay, top_skill
    ))


@njit(cache=True, inline="always")
def arrival_skill(key, g, top_skill, layers):
    """The skill `_arrive` gives global slot g arriving in the week of `key`."""
    return np.float32(novice_skill(uniform(draw(agent_key(key, g), 1)), top_skill, layers))


def novice_layers(scenario: Scenario) -> int:
    """The layers whose bottom one arrivals enter (pyramid.layers; 5 for the exponential shape)."""
    p = scenario.pyramid
    return p.layers if p.shape == "layers" else 5


@njit(cache=True, inline="always")
def random_member(bits, community_start, community_present, c):
    """A uniformly random filled slot of community c."""
    return community_start[c] + below(bits, community_present[c])
