"""The weekly motivation rule and drop-out (docs/ODD.md section 7.7), shared by every kernel.

    m' = clip(m + progress_reward x progress - agency_decay + extra
              - (no_contact_penalty unless the agent practised) + shock, 0, 1)

where progress is the best learning efficacy received this week and shock is uniform in
+-`motivation.shock`, drawn from the agent's own step key (`DRAW_SHOCK`): the same draw in every
structure, so one learner's week is equally lucky whatever the structure (common random
numbers). A learner whose new motivation is below `motivation.threshold` drops out for good.
[assumption: the functional form; the agency decay magnitudes are assumptions, the overall
attrition is calibrated to T5 (docs/calibration.md).]

`extra` is what a structure adds on top: study groups add social support and subtract the
leader's preparation and facilitation load, or the loss when a group collapses
(docs/study_groups.md). The peer step has none and passes `NO_EXTRA`, -0.0: `x + (-0.0)` is
exactly `x` for every x (+0.0 too, unlike `x + 0.0` for x = -0.0), and LLVM removes the addition,
so the peer kernel computes what it computed before the rule was shared, bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .counter_rng import DRAW_SHOCK, draw, uniform
from .encoding import MOTIVATION_SCALE

# The `extra` of a structure that adds nothing to the rule (see the module docstring).
NO_EXTRA = -0.0


@njit(cache=True, inline="always")
def practised(gain, learned_e, taught_e):
    """Whether an agent practised this week: it took part in a session, or gained anything.

    Taking part means being taught with a learning efficacy above zero (by a peer, an expert, a
    group's leader or the course material: `learned_e`) or teaching a peer with one (`taught_e`).
    A week of practice adds its gain and escapes both forgetting and the no-contact penalty
    (docs/ODD.md 7.5, 7.7). Until this rule, practice meant a gain above zero, so a tutor at
    teaching_expectancy 0 (gain exactly 0; Kobayashi 2024, docs/calibration.md T6) forgot and
    lost motivation as if it had met nobody, while at 1e-6 it did neither: T6 says teaching
    without expectancy adds no learning, not that the session did not happen. The rule is now
    continuous in every rate.

    Args:
        gain: the week's gain (learning, teaching and expert input together).
        learned_e: the best efficacy received this week (0 if none).
        taught_e: the efficacy of the teaching given this week (0 if none).

    Returns:
        Whether the week counts as practice.
    """
    return (gain > 0.0) | (learned_e > 0.0) | (taught_e > 0.0)


@njit(cache=True, inline="always")
def motivation_code(m):
    """The uint16 code of motivation m in [0, 1]: round(m x 65535) (core/encoding.py)."""
    return np.uint16(np.floor(m * MOTIVATION_SCALE + 0.5))


@njit(cache=True, inline="always")
def weekly_motivation(m, progress, extra, practised, akey, rules):
    """This week's motivation of an agent with motivation m, and whether it stays.

    Args:
        m: last week's motivation in [0, 1].
        progress: the best learning efficacy received this week (0 if none).
        extra: the structure's own term (`NO_EXTRA` if none; see the module docstring).
        practised: whether the agent practised this week (`practised`; else the penalty).
        akey: the agent's key in this week's step stream (counter_rng.agent_key), for the shock.
        rules: the week's rules; any namedtuple with `progress_reward`, `motivation_decay`,
            `no_contact_penalty`, `shock` and `threshold`.

    Returns:
        The new motivation (float64, in [0, 1]), its uint16 code, and whether it is at or above
        the drop-out threshold.
    """
    m_new = m + rules.progress_reward * progress - rules.motivation_decay + extra
    m_new = m_new if practised else m_new - rules.no_contact_penalty
    m_new += rules.shock * (2.0 * uniform(draw(akey, DRAW_SHOCK)) - 1.0)
    m_new = min(1.0, max(0.0, m_new))
    return m_new, motivation_code(m_new), m_new >= rules.threshold
