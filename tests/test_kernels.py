"""How the kernels are cut: one motivation rule, bundles opened only in block functions."""

from __future__ import annotations

import ast
import math
from collections import namedtuple

import numpy as np
from numba import njit, prange

from simulation.core.counter_rng import agent_key, key_for
from simulation.core.motivation import NO_EXTRA, weekly_motivation
from simulation.kernels.bundles import block_function
from simulation.reference.peers import draw as plain_draw
from simulation.reference.peers import uniform as plain_uniform

from .helpers import ROOT

KERNELS = ROOT / "simulation" / "kernels"
DRAW_SHOCK = 96  # core.counter_rng.DRAW_SHOCK, as reference/peers.py restates it

Rules = namedtuple(
    "Rules", ["progress_reward", "motivation_decay", "no_contact_penalty", "shock", "threshold"]
)
RULES = Rules(progress_reward=0.045, motivation_decay=0.015, no_contact_penalty=0.05, shock=0.05,
              threshold=0.2)


@njit(cache=True)
def _rule(m, progress, extra, practised, keys, rules, out_m, out_code, out_stays):
    for k in range(m.size):
        out_m[k], out_code[k], out_stays[k] = weekly_motivation(
            m[k], progress[k], extra, practised[k] != 0, keys[k], rules
        )


@njit(cache=True)
def _rule_without_extra(m, progress, practised, keys, rules, out_m):
    for k in range(m.size):
        out_m[k], _, _ = weekly_motivation(
            m[k], progress[k], NO_EXTRA, practised[k] != 0, keys[k], rules
        )


def _plain_rule(m: float, progress: float, extra: float | None, practised: bool,
                akey: int) -> float:
    """docs/ODD.md 7.7 in plain Python, as the reference implementations state it."""
    r = RULES
    m_new = m + r.progress_reward * progress - r.motivation_decay
    if extra is not None:  # study groups add their term; the peer step has none
        m_new += extra
    if not practised:
        m_new -= r.no_contact_penalty
    m_new += r.shock * (2.0 * plain_uniform(plain_draw(akey, DRAW_SHOCK)) - 1.0)
    return min(1.0, max(0.0, m_new))


def _inputs(n: int = 4000):
    rng = np.random.default_rng(3)
    m = np.concatenate([[0.0, 1.0, 0.2, 0.015, 0.065], rng.random(n)])
    progress = np.concatenate([[0.0, 1.0, 0.0, 0.0, 0.0], rng.random(n)])
    practised = (np.arange(m.size) % 3 != 0).astype(np.uint8)
    key = key_for(7, 3, 2)
    keys = np.array([agent_key(key, i) for i in range(m.size)], dtype=np.uint64)
    return m, progress, practised, keys


def test_the_peer_step_s_motivation_rule_is_the_plain_rule_bit_for_bit():
    """With NO_EXTRA the shared rule computes the peer step's m' exactly, bit for bit."""
    m, progress, practised, keys = _inputs()
    out = np.empty(m.size)
    _rule_without_extra(m, progress, practised, keys, RULES, out)
    plain = np.array([_plain_rule(m[k], progress[k], None, bool(practised[k]), int(keys[k]))
                      for k in range(m.size)])
    assert np.array_equal(out.view(np.uint64), plain.view(np.uint64))


def test_the_study_groups_extra_term_is_one_more_addend_before_the_penalty():
    """With an extra term (support, load, collapse) m' is the plain rule plus that term."""
    m, progress, practised, keys = _inputs()
    for extra in (0.0, 0.03, -0.1, -0.25):
        out_m, code = np.empty(m.size), np.empty(m.size, dtype=np.uint16)
        stays = np.empty(m.size, dtype=np.bool_)
        _rule(m, progress, extra, practised, keys, RULES, out_m, code, stays)
        plain = np.array([_plain_rule(m[k], progress[k], extra, bool(practised[k]), int(keys[k]))
                          for k in range(m.size)])
        assert np.array_equal(out_m.view(np.uint64), plain.view(np.uint64)), extra
        assert np.array_equal(code, np.floor(plain * 65535.0 + 0.5).astype(np.uint16))
        assert np.array_equal(stays, plain >= RULES.threshold)


@njit(cache=True)
def _plus(x, extra):
    return x + extra


def test_adding_no_extra_changes_no_number_not_even_a_negative_zero():
    """Adding NO_EXTRA gives x for every x, -0.0 included (x + 0.0 turns -0.0 into +0.0)."""
    for x in (-0.0, 0.0, 5e-324, -5e-324, 0.3, -0.3, 1.0, math.inf, -math.inf):
        assert math.copysign(1.0, _plus(x, NO_EXTRA)) == math.copysign(1.0, x)
        assert _plus(x, NO_EXTRA) == x
    assert math.isnan(_plus(math.nan, NO_EXTRA))
    assert math.copysign(1.0, _plus(-0.0, 0.0)) == 1.0  # why the peer step passes -0.0


Bundle = namedtuple("Bundle", ["source", "target", "total"])


@block_function
def _toy_block(b, bundle, width):
    """A block function writing through a bundle: the pattern of every weekly kernel."""
    total = 0.0
    for q in range(width):
        bundle.target[b, q] = bundle.source[b, q] * 2.0
        total += bundle.target[b, q]
    bundle.total[b] = total


@njit(parallel=True, cache=True)
def _toy_kernel(bundle):
    rows, width = bundle.source.shape
    for b in prange(rows):
        _toy_block(b, bundle, width)


def test_a_block_function_writes_through_its_bundles_in_a_parallel_loop():
    """Every write a block function makes through a bundle lands, in every block."""
    source = np.arange(64 * 300, dtype=np.float64).reshape(64, 300)
    bundle = Bundle(source, np.zeros_like(source), np.zeros(64))
    _toy_kernel(bundle)
    assert np.array_equal(bundle.target, 2.0 * source)
    assert np.array_equal(bundle.total, (2.0 * source).sum(axis=1))


def _decorator_names(node: ast.FunctionDef) -> set[str]:
    names = set()
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


def test_no_parallel_loop_in_the_kernels_opens_a_bundle():
    """A prange body either only calls a block function or reads no attribute but an array's size.

    numba drops writes to arrays taken out of a namedtuple inside a parallel loop (numba#7135;
    kernels/bundles.py), so a bundle may only be opened in a block function.
    """
    offences = []
    for path in sorted(KERNELS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        blocks = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                  and "block_function" in _decorator_names(f)}
        for loop in ast.walk(tree):
            if not (isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call)
                    and getattr(loop.iter.func, "id", "") == "prange"):
                continue
            body = loop.body
            one_call = (len(body) == 1 and isinstance(body[0], ast.Expr)
                        and isinstance(body[0].value, ast.Call)
                        and getattr(body[0].value.func, "id", "") in blocks)
            # Attributes of anything but numpy itself (np.float32) and an array's size or shape.
            attributes = {f"{getattr(n.value, 'id', '?')}.{n.attr}" for stmt in body
                          for n in ast.walk(stmt) if isinstance(n, ast.Attribute)
                          and getattr(n.value, "id", "") != "np"
                          and n.attr not in ("size", "shape")}
            if not one_call and attributes:
                offences.append(f"{path.name}:{loop.lineno} reads {sorted(attributes)}")
    assert not offences, offences


def test_the_weekly_peer_kernel_is_called_from_one_place():
    """Only structures.peer_learning.run_week calls peer_week.week (PeerEngine and Shard use it)."""
    callers = []
    for path in sorted((ROOT / "simulation").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "week"
                        and getattr(node.func.value, "id", "") == "peer_week"):
                    callers.append(f"{path.relative_to(ROOT)}:{function.name}")
    assert callers == ["simulation/structures/peer_learning.py:run_week"]
