"""One week of learning for every agent, as one synchronous numba kernel (MODEL.md section 4).

For each active agent: draw `k` contacts from its own community plus contacts from the global
pool (connectivity), choose as learner the candidate above with the highest learning efficacy and
as tutor a candidate below (within the choice agency allows), add expert input where the
structure has experts, then apply gains, forgetting, motivation and drop-out. Every agent reads
last week's state (`skill`, `flags`) and writes this week's (`skill_next`, `flags_next`), so the
result does not depend on the order agents are visited, nor on the thread count.

Aggregates are accumulated per block of whole communities (float64 sums, integer histogram) and
combined in a fixed order afterwards (metrics.py), so no population-sized pass is needed.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from .counter_rng import DRAW_EXPERT_SESSION, DRAW_POOL_BASE, DRAW_SHOCK, agent_key, below, draw, uniform
from .efficacy import class_input, content_level, efficacy, effective_gap
from .population import ACTIVE, IN_PROGRAMME, NOT_ACTIVE, MOTIVATION_SCALE, WAS_EXPERT_TAUGHT, WAS_TUTEE, WAS_TUTOR

# Columns of the per-block statistics (float64; counts are exact below 2**53).
SUM_SKILL, N_ACTIVE, N_PRESENT, SUM_TUTEE_GAIN, N_TUTEE, SUM_TUTOR_GAIN, N_TUTOR = range(7)
SUM_EXPERT_GAIN, N_EXPERT, SUM_PARTNER_EFFICACY, N_PARTNERED, SUM_MISFIT, N_DROPOUT = range(7, 13)
SUM_GAIN, SUM_MOTIVATION, SUM_SKILL_SQ = range(13, 16)
N_STATS = 16
HISTOGRAM_BINS = 1000  # skill bins of width 0.001: quantiles and pyramid bands come from them

EXPERTS_NONE, EXPERTS_CLASS, EXPERTS_MENTORING = 0, 1, 2

# The scalars of one week's rules, with each level already resolved to its magnitude.
StepRules = namedtuple(
    "StepRules",
    [
        "peers",  # int: 1 if agents learn from and teach each other
        "candidates",  # int: k local contacts
        "choice",  # int: local candidates a learner may choose among; 0 = the first above is assigned
        "pool_contacts",  # int: random contacts from the global pool
        "pool_ideal",  # int: 1 if the sorted pool gives a contact at the ideal gap (connectivity 2)
        "optimal_gap",  # float
        "peer_rate",
        "tutor_rate",
        "teaching_expectancy",
        "peer_narrowing",  # float: peer teaching skill combined with responsiveness
        "forgetting",
        "expert_mode",  # int: EXPERTS_NONE / CLASS / MENTORING
        "expert_skill",
        "expert_rate",
        "expert_narrowing",  # float: expert teaching skill
        "class_size_slope",
        "class_span",  # int: slots per class (class format)
        "mentoring_probability",  # float: chance of an expert session this week (mentoring)
        "mentoring_group",  # float: learners per mentoring session
        "population_mean",  # float: mean active skill last week (pitch of mentoring content)
        "responsiveness",  # int level
        "module_spacing",
        "motivation_decay",  # float: per agency level
        "progress_reward",
        "no_contact_penalty",
        "shock",
        "threshold",
    ],
)


@njit(cache=True, inline="always")
def record_state(stats, histogram, b, s, m, active):
    """Add one agent's new state to its block's aggregates."""
    stats[b, N_PRESENT] += 1.0
    if active:
        stats[b, N_ACTIVE] += 1.0
        stats[b, SUM_SKILL] += s
        stats[b, SUM_SKILL_SQ] += s * s
        stats[b, SUM_MOTIVATION] += m
        k = int(s * HISTOGRAM_BINS)
        histogram[b, min(max(k, 0), HISTOGRAM_BINS - 1)] += 1


@njit(cache=True, inline="always")
def _pool_ideal(pool_sorted, target):
    """The sorted-pool member nearest to `target` skill (connectivity 2: found at once)."""
    n = pool_sorted.size
    p = np.searchsorted(pool_sorted, target)
    if p >= n:
        return pool_sorted[n - 1]
    if p == 0:
        return pool_sorted[0]
    lo, hi = pool_sorted[p - 1], pool_sorted[p]
    return lo if target - lo <= hi - target else hi


@njit(parallel=True, cache=True)
def week(skill, skill_next, motivation, flags, flags_next, community_start, community_present,
         block_community, pool_skill, pool_sorted, class_mean, class_count, key, rules, table,
         stats, histogram):
    """Advance every present agent by one week; fill per-block `stats` and `histogram`."""
    Z = rules.optimal_gap
    stats[:, :] = 0.0
    histogram[:, :] = 0
    n_pool = pool_skill.size
    for b in prange(block_community.size - 1):
        for c in range(block_community[b], block_community[b + 1]):
            first = community_start[c]
            size = community_present[c]
            for i in range(first, first + size):
                f = flags[i]
                s = np.float64(skill[i])
                if not (f & ACTIVE):
                    # Dropped out: no practice, so only forgetting.
                    s_new = np.float32(s * (1.0 - rules.forgetting))
                    skill_next[i] = s_new
                    flags_next[i] = f
                    record_state(stats, histogram, b, s_new, 0.0, False)
                    continue
                a = agent_key(key, i)
                m = motivation[i] / MOTIVATION_SCALE

                # --- peers: candidates, choice, efficacy -----------------------------------
                up_e = 0.0  # efficacy of the chosen source above
                up_gap = 0.0
                up_effgap = 0.0
                down_e = 0.0  # efficacy of teaching the chosen tutee below
                if rules.peers and (f & IN_PROGRAMME):
                    seen_up = 0
                    seen_down = 0
                    for d in range(rules.candidates):
                        j = first + below(draw(a, d), size)
                        if j == i or (flags[j] & (ACTIVE | IN_PROGRAMME)) != (ACTIVE | IN_PROGRAMME):
                            continue
                        gap = skill[j] - s
                        if gap > 0.0:
                            if rules.choice == 0:
                                if seen_up == 0:  # assigned: the first contact above
                                    eg = effective_gap(gap, Z, rules.peer_narrowing)
                                    up_e, up_gap, up_effgap = efficacy(eg, Z, table), gap, eg
                            elif seen_up < rules.choice:
                                eg = effective_gap(gap, Z, rules.peer_narrowing)
                                e = efficacy(eg, Z, table)
                                if e > up_e:
                                    up_e, up_gap, up_effgap = e, gap, eg
                            seen_up += 1
                        elif gap < 0.0:
                            if rules.choice == 0:
                                if seen_down == 0:
                                    down_e = efficacy(-gap, Z, table)
                            elif seen_down < rules.choice:
                                e = efficacy(-gap, Z, table)
                                if e > down_e:
                                    down_e = e
                            seen_down += 1
                    # Contacts beyond the community, through the small global pool.
                    for p in range(rules.pool_contacts + 2 * rules.pool_ideal):
                        if p < rules.pool_contacts:
                            sj = pool_skill[below(draw(a, DRAW_POOL_BASE + p), n_pool)]
                        elif p == rules.pool_contacts:
                            sj = _pool_ideal(pool_sorted, s + Z)
                        else:
                            sj = _pool_ideal(pool_sorted, s - Z)
                        if sj < 0.0:  # a pool member who has dropped out
                            continue
                        gap = sj - s
                        if gap > 0.0 and (rules.choice > 0 or seen_up == 0):
                            eg = effective_gap(gap, Z, rules.peer_narrowing)
                            e = efficacy(eg, Z, table)
                            if e > up_e:
                                up_e, up_gap, up_effgap = e, gap, eg
                            seen_up += 1
                        elif gap < 0.0 and (rules.choice > 0 or seen_down == 0):
                            e = efficacy(-gap, Z, table)
                            if e > down_e:
                                down_e = e
                            seen_down += 1

                tutee_gain = 0.0
                if up_e > 0.0:
                    # Shrinks near the frontier; a peer cannot carry a learner past the peer.
                    tutee_gain = min(rules.peer_rate * up_e * m * (1.0 - s), up_gap)
                tutor_gain = 0.0
                if down_e > 0.0:
                    # Learning by teaching needs preparation or teaching expectancy (Kobayashi 2024).
                    tutor_gain = rules.tutor_rate * rules.teaching_expectancy * down_e * m * (1.0 - s)

                # --- experts: class or mentoring -----------------------------------------------
                expert_gain = 0.0
                expert_quality = 0.0
                had_expert = False
                n = 1.0
                reference = 0.0
                if rules.expert_mode == EXPERTS_CLASS:
                    cls = i // rules.class_span
                    had_expert = class_count[cls] > 0
                    n = np.float64(class_count[cls])
                    reference = class_mean[cls]
                elif rules.expert_mode == EXPERTS_MENTORING:
                    had_expert = uniform(draw(a, DRAW_EXPERT_SESSION)) < rules.mentoring_probability
                    n = rules.mentoring_group
                    reference = rules.population_mean
                if had_expert:
                    content = min(
                        content_level(s, reference, Z, rules.responsiveness, rules.module_spacing),
                        rules.expert_skill,
                    )
                    gap = content - s
                    e = efficacy(effective_gap(gap, Z, rules.expert_narrowing), Z, table)
                    expert_quality = e * class_input(n, rules.class_size_slope)
                    if gap > 0.0:
                        expert_gain = min(rules.expert_rate * expert_quality * m * (1.0 - s), gap)

                gain = tutee_gain + tutor_gain + expert_gain
                practised = gain > 0.0
                if practised:
                    s_new = np.float32(min(1.0, s + gain))
                else:
                    s_new = np.float32(s * (1.0 - rules.forgetting))
                skill_next[i] = s_new

                # --- motivation and drop-out ----------------------------------------------------
                progress = max(up_e, expert_quality)
                m_new = m + rules.progress_reward * progress - rules.motivation_decay
                if not practised:
                    m_new -= rules.no_contact_penalty
                m_new += rules.shock * (2.0 * uniform(draw(a, DRAW_SHOCK)) - 1.0)
                m_new = min(1.0, max(0.0, m_new))
                motivation[i] = np.uint16(np.floor(m_new * MOTIVATION_SCALE + 0.5))
                f_new = f
                if tutee_gain > 0.0:
                    f_new |= WAS_TUTEE
                if tutor_gain > 0.0:
                    f_new |= WAS_TUTOR
                if had_expert:
                    f_new |= WAS_EXPERT_TAUGHT
                still_active = m_new >= rules.threshold
                if not still_active:
                    f_new &= NOT_ACTIVE
                    stats[b, N_DROPOUT] += 1.0
                flags_next[i] = f_new

                if tutee_gain > 0.0:
                    stats[b, SUM_TUTEE_GAIN] += tutee_gain
                    stats[b, N_TUTEE] += 1.0
                if up_e > 0.0:
                    stats[b, SUM_PARTNER_EFFICACY] += up_e
                    stats[b, SUM_MISFIT] += abs(up_effgap - Z)
                    stats[b, N_PARTNERED] += 1.0
                if tutor_gain > 0.0:
                    stats[b, SUM_TUTOR_GAIN] += tutor_gain
                    stats[b, N_TUTOR] += 1.0
                if had_expert:
                    stats[b, SUM_EXPERT_GAIN] += expert_gain
                    stats[b, N_EXPERT] += 1.0
                stats[b, SUM_GAIN] += np.float64(s_new) - s
                record_state(stats, histogram, b, np.float64(s_new), m_new, still_active)


@njit(parallel=True, cache=True)
def summarise(skill, motivation, flags, community_start, community_present, block_community, stats, histogram):
    """Per-block aggregates of the current state (used before the first step)."""
    stats[:, :] = 0.0
    histogram[:, :] = 0
    for b in prange(block_community.size - 1):
        for c in range(block_community[b], block_community[b + 1]):
            first = community_start[c]
            for i in range(first, first + community_present[c]):
                record_state(
                    stats, histogram, b, np.float64(skill[i]), motivation[i] / MOTIVATION_SCALE,
                    (flags[i] & ACTIVE) != 0,
                )
