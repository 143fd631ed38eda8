"""Kernels of designated experts' classes: each class's mean skill and active size.

Experts are not members of the learner population: they are `count` teachers of fixed skill.
- class format (expert_only): every learner sits in one expert's class, a contiguous block of
  slots; content is pitched by responsiveness (at the class mean at level 0) and per-learner input
  falls with the class's active size n as 1 / (1 + b ln n) (efficacy.class_input);
- mentoring format (mixed): each expert sees at most `capacity` learners a week, so a learner has
  an expert session with probability min(1, experts * capacity / active learners).
Expert hours used and gain per expert hour are reported every week.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..core.blocks import N_EXPERT_CONTACT
from ..core.encoding import ACTIVE, IN_PROGRAMME

# The expert classes as the weekly kernel takes them: each class's mean active skill (float64)
# and active size (int64); empty arrays where experts do not teach classes. `contacts`: this
# week's expert contacts (hyper-connectivity, `select_contacts`), int64 [community, k] slots,
# -1 where a community has fewer members to connect; empty when no contacts are made.
Classes = namedtuple("Classes", ["mean", "count", "contacts"])
NO_CONTACTS = np.full((0, 0), -1, dtype=np.int64)

# Who gets this week's expert contacts (levels.expert_contacts, docs/ODD.md 7.6): at connectivity
# 1 a facilitator brokers them for the members furthest behind (lowest skill), at 2 the most
# motivated members reach a practitioner themselves.
CONTACTS_BROKERED, CONTACTS_SOUGHT = 1, 2


@njit(parallel=True, cache=True)
def class_summary(skill, flags, class_span, class_mean, class_count):
    """Mean skill and active size of every class (contiguous spans of slots)."""
    n = skill.size
    for k in prange(class_mean.size):
        total = 0.0
        count = 0
        for i in range(k * class_span, min(n, (k + 1) * class_span)):
            if flags[i] & ACTIVE:
                total += skill[i]
                count += 1
        class_count[k] = count
        class_mean[k] = total / count if count > 0 else 0.0


@njit(cache=True)
def class_partials(skill, flags, slot_offset, class_span, capacity, carry_total, carry_count):
    """A shard's part of `class_summary`: active skill total and count of every class it overlaps.

    The shard holds global slots [slot_offset, slot_offset + skill.size). Each class is summed in
    slot order, as `class_summary` does; a class begun in an earlier shard continues from that
    shard's running total (`carry_total`, `carry_count`), so the last shard a class reaches ends
    with exactly the single-process sum. Returns the first class, the totals and the counts.
    """
    n = skill.size
    first = slot_offset // class_span
    last = (slot_offset + n - 1) // class_span
    totals = np.zeros(last - first + 1)
    counts = np.zeros(last - first + 1, dtype=np.int64)
    totals[0] = carry_total
    counts[0] = carry_count
    for k in range(first, last + 1):
        total = totals[k - first]
        count = counts[k - first]
        lo = max(k * class_span, slot_offset)
        hi = min(min(capacity, (k + 1) * class_span), slot_offset + n)
        for i in range(lo - slot_offset, hi - slot_offset):
            if flags[i] & ACTIVE:
                total += skill[i]
                count += 1
        totals[k - first] = total
        counts[k - first] = count
    return first, totals, counts


@njit(parallel=True, cache=True)
def select_contacts(skill, flags, motivation, community_start, community_present, blocks, mode,
                    contacts, stats):
    """This week's expert contacts: in every community the k members first by need (mode).

    Eligible are active members enrolled in the programme. CONTACTS_BROKERED: lowest skill first
    (the facilitator's need: furthest behind); CONTACTS_SOUGHT: highest motivation first (those
    who take the initiative). Ties go to the lower slot. Depends on each community alone, so it
    is the same on any thread count and shard layout.

    Args:
        skill: float32 skill at the start of the week.
        flags: uint8 flags at the start of the week.
        motivation: uint16 motivation codes at the start of the week.
        community_start: int64 first slot of each community.
        community_present: int64 slots filled in each community.
        blocks: int64 first community of each block, then the end.
        mode: CONTACTS_BROKERED or CONTACTS_SOUGHT.
        contacts: int64 [community, k], filled with the chosen slots in order of need, -1 after.
        stats: float64 [block, N_STATS]: the block's contacts into N_EXPERT_CONTACT.
    """
    k = contacts.shape[1]
    enrolled = ACTIVE | IN_PROGRAMME
    for b in prange(blocks.size - 1):
        made = 0
        key = np.empty(k)
        for c in range(blocks[b], blocks[b + 1]):
            for j in range(k):
                contacts[c, j] = -1
            chosen = 0
            first = community_start[c]
            for i in range(first, first + community_present[c]):
                if (flags[i] & enrolled) != enrolled:
                    continue
                v = np.float64(skill[i]) if mode == CONTACTS_BROKERED else -1.0 * motivation[i]
                if chosen == k and v >= key[k - 1]:
                    continue  # not before the last chosen (ties: the earlier slot stays)
                j = chosen if chosen < k else k - 1
                while j > 0 and key[j - 1] > v:  # shift the later ones down (the last drops out)
                    key[j] = key[j - 1]
                    contacts[c, j] = contacts[c, j - 1]
                    j -= 1
                key[j] = v
                contacts[c, j] = i
                chosen = min(chosen + 1, k)
            made += chosen
        stats[b, N_EXPERT_CONTACT] = made
