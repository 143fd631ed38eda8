"""Properties that hold for every input, checked on generated examples (hypothesis).

Valid scenario data is generated from the schema's own bounds and choices
(simulation.config.schema), so a bound changed there changes what is generated here; no bound is
repeated in this file. Examples are derandomized (the same on every run and machine) and few
enough that each test takes seconds; no deadline is set because a shared CI machine can stall any
single example.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulation.config import Scenario, ScenarioError, apply_overrides, load, validate
from simulation.config.errors import one_line
from simulation.config.schema import choices, numeric_bounds, parameter_keys
from simulation.core import counter_rng as R
from simulation.reference import peers as reference

ROUND_TRIP = settings(max_examples=80, deadline=None, derandomize=True, database=None)
INPUTS = settings(max_examples=200, deadline=None, derandomize=True, database=None)
HASH = settings(max_examples=400, deadline=None, derandomize=True, database=None)


# ----------------------------------------------------------------------------------------------
# TOML text, written here (the standard library reads TOML but does not write it)


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """One TOML value: booleans, integers, floats (nan, inf too), strings, arrays, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no TOML for {value!r}")


def toml_document(data: dict[str, Any]) -> str:
    """A scenario file as people write one: top-level values first, then one [table] each."""
    lines = [
        f"{toml_string(k)} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)
    ]
    for name, table in data.items():
        if isinstance(table, dict):
            lines.append(f"\n[{toml_string(name)}]")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# Valid scenario data, from the schema


def valid_value(key: str) -> st.SearchStrategy[Any]:
    """Any value the schema accepts for `key`: a choice, a number in range, a list, or text."""
    listed = choices(key)
    if listed is not None:
        return st.sampled_from(listed)
    bounds = numeric_bounds(key)
    if bounds is None:
        return st.text(max_size=30)  # name and description: free text
    if bounds.kind is int:
        low = None if bounds.low is None else bounds.low + bounds.low_open
        high = None if bounds.high is None else bounds.high - bounds.high_open
        number: st.SearchStrategy[Any] = st.integers(low, high)
    else:
        number = st.floats(
            bounds.low, bounds.high, exclude_min=bounds.low_open, exclude_max=bounds.high_open,
            allow_nan=False, allow_infinity=False,
        )
    if bounds.length is None:
        return number
    return st.lists(number, min_size=bounds.length, max_size=bounds.length)


KEYS = parameter_keys()  # 'name', ..., 'run.steps', ...: every key, in the schema's order
TOP_LEVEL = [key for key in KEYS if "." not in key]
SECTIONS = list(dict.fromkeys(key.partition(".")[0] for key in KEYS if "." in key))


def section_keys(section: str) -> list[str]:
    """The keys of one section, without the section: ['steps', 'seed', 'replicates']."""
    return [key.partition(".")[2] for key in KEYS if key.startswith(section + ".")]


@st.composite
def scenario_data(draw: st.DrawFn) -> dict[str, Any]:
    """Valid raw data of a scenario file: any subset of keys, each with a value in range."""
    data: dict[str, Any] = draw(
        st.fixed_dictionaries({}, optional={k: valid_value(k) for k in TOP_LEVEL})
    )
    for section in SECTIONS:
        table = draw(st.fixed_dictionaries(
            {}, optional={n: valid_value(f"{section}.{n}") for n in section_keys(section)}
        ))
        if table:
            data[section] = table
    # The rules across keys (schema.validate): motivation.initial_min must not exceed
    # initial_max, metrics.competent must not exceed metrics.expert, and (below) a tutor
    # capacity or strong tutors need connectivity 0.
    defaults = Scenario()
    for section, low_key, high_key in (("motivation", "initial_min", "initial_max"),
                                       ("metrics", "competent", "expert")):
        table = data.get(section, {})
        low = table.get(low_key, getattr(getattr(defaults, section), low_key))
        high = table.get(high_key, getattr(getattr(defaults, section), high_key))
        if low > high:
            data[section] = table | {low_key: high, high_key: low}
    return data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the generated scenario files (each example overwrites the last)."""
    return tmp_path_factory.mktemp("generated")


@ROUND_TRIP
@given(data=scenario_data())
def test_valid_scenario_data_round_trips_through_toml_files_and_set_flags(folder, data):
    """Valid data loads from a TOML file, its full dump reloads equal, and --set gives the same.

    Three ways to the same Scenario: the file as written, a file of the validated scenario's
    full dump (every key), and `--set key=value` flags for every key given, from the defaults.
    """
    expected = validate({"name": "generated"} | data, "generated data")
    path = folder / "generated.toml"
    path.write_text(toml_document(data), encoding="utf-8")
    assert load(path) == expected

    path.write_text(toml_document(expected.model_dump()), encoding="utf-8")
    assert load(path) == expected

    flags = [f"name={toml_string('generated')}"]
    for key, value in data.items():
        if isinstance(value, dict):
            flags += [f"{key}.{k}={toml_value(v)}" for k, v in value.items()]
        else:
            flags.append(f"{key}={toml_value(value)}")
    assert apply_overrides(Scenario(), flags) == expected


# ----------------------------------------------------------------------------------------------
# Anything else: a Scenario or one line naming the key, never another exception

toml_values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)

def outcome(build: Callable[[], Scenario]) -> str | None:
    """None if `build` gives a Scenario, else the message of the ScenarioError it raises.

    The message is checked to be one printable line (no line break, no control character); any
    other exception fails the test.
    """
    try:
        scenario = build()
    except ScenarioError as exc:
        message = str(exc)
        assert message.isprintable(), message
        return message
    assert isinstance(scenario, Scenario)
    return None


set_keys = st.sampled_from(KEYS) | st.sampled_from(SECTIONS + TOP_LEVEL) | st.text(max_size=20)
set_values = (
    toml_values.map(toml_value)
    | st.text(max_size=20)
    | st.sampled_from(KEYS).flatmap(valid_value).map(toml_value)
)


@INPUTS
@given(text=st.text(max_size=40) | st.tuples(set_keys, set_values).map("=".join))
@example(text="run.steps=" + "[" * 3000)  # deep nesting: tomllib recurses (RecursionError)
@example(text="run.steps=3\nrun.seed=5")  # two lines are not one value
@example(text="run.\nsteps=3")  # a line break in the key stays inside one line of message
@example(text="no equals sign")
def test_any_set_flag_gives_a_scenario_or_one_line_naming_the_key(text):
    """`--set` text either applies or raises ScenarioError in one line that names the key."""
    message = outcome(lambda: apply_overrides(Scenario(), [text]))
    if message is not None:
        named = text.split("=", 1)[0].strip() if "=" in text else text
        assert one_line(named) in message, (named, message)


section_tables = st.dictionaries(
    st.sampled_from([k.partition(".")[2] for k in KEYS if "." in k]) | st.text(max_size=10),
    toml_values | st.sampled_from(KEYS).flatmap(valid_value),
    max_size=4,
)
scenario_files = st.dictionaries(
    st.sampled_from(SECTIONS + TOP_LEVEL) | st.text(max_size=10),
    section_tables | toml_values,
    max_size=4,
)


def key_paths(data: dict[str, Any], prefix: str = "") -> set[str]:
    """Every dotted key of nested data: 'run', 'run.steps', ..."""
    paths = set()
    for key, value in data.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict):
            paths |= key_paths(value, path + ".")
    return paths


@INPUTS
@given(data=scenario_files)
@example(data={"run": {"steps": [[[[1]]]]}})
@example(data={"run": 5})
@example(data={"a\nb": 1})
@example(data={"motivation": {"initial_min": 0.9, "initial_max": 0.1}})
def test_any_toml_scenario_file_loads_or_fails_in_one_line_naming_a_key(folder, data):
    """A TOML file of any keys and values: a Scenario, or one line naming one of its keys."""
    path = folder / "any.toml"
    path.write_text(toml_document(data), encoding="utf-8")
    message = outcome(lambda: load(path))
    if message is not None:
        assert message.startswith(str(path)), message
        assert any(one_line(p) in message for p in key_paths(data)), (data, message)


@INPUTS
@given(text=st.text(max_size=200))
@example(text="[run]\nsteps = " + "[" * 3000)
@example(text="[run\n")
def test_any_text_as_a_scenario_file_loads_or_fails_in_one_line(folder, text):
    """Arbitrary text in a scenario file: a Scenario, or one line starting with the file name."""
    path = folder / "text.toml"
    path.write_text(text, encoding="utf-8")
    message = outcome(lambda: load(path))
    if message is not None:
        assert message.startswith(str(path)), message


# ----------------------------------------------------------------------------------------------
# The counter-based hash

bits64 = st.integers(0, 2**64 - 1)


@HASH
@given(bits=bits64, n=st.integers(1, 2**32 - 1))
@example(bits=2**64 - 1, n=2**32 - 1)
def test_below_is_always_in_range_and_equals_the_plain_python_hash(bits, n):
    """below(bits, n) is in [0, n) for every 64-bit pattern and n < 2**32, as in the reference."""
    value = R.below(np.uint64(bits), n)
    assert 0 <= value < n
    assert value == reference.below(bits, n)


@HASH
@given(bits=bits64, n=st.integers(1, 2**63 - 1))
@example(bits=2**64 - 1, n=2**63 - 1)
def test_below_wide_is_always_in_range_and_exact(bits, n):
    """below_wide(bits, n) is floor(bits * n / 2**64), in [0, n), for any n < 2**63."""
    value = R.below_wide(np.uint64(bits), n)
    assert value == bits * n >> 64
    assert 0 <= value < n


@HASH
@given(bits=bits64)
@example(bits=0)
@example(bits=2**64 - 1)  # the top 53 bits all ones: (2**53 - 1) + 0.5 rounds up to 2**53
def test_uniform_is_always_inside_the_open_unit_interval(bits):
    """uniform(bits) is strictly between 0 and 1 for every 64-bit pattern, as in the reference."""
    value = R.uniform(np.uint64(bits))
    assert 0.0 < value < 1.0
    assert value == reference.uniform(bits)
