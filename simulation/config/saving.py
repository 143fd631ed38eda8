"""Writing a Scenario as a TOML scenario file that `load` reads back to the same Scenario.

Every parameter is written, defaults included, so the file reproduces the run even if a default
of the schema changes later. Floats are written with Python's shortest round-trip repr, so
`load(path) == scenario` holds exactly (tests/test_dashboard_export.py checks every shipped file).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .schema import Scenario, Section


def _value(value: Any) -> str:
    """One TOML value: strings, booleans, integers, floats and lists of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back as the same double
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (the same escapes, \uXXXX included).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as a TOML value")


def scenario_toml(scenario: Scenario, header: str = "") -> str:
    """The scenario as the text of a TOML scenario file, with `header` as leading comments.

    Args:
        scenario: a validated scenario.
        header: text written as `# ` comment lines at the top (may hold several lines).

    Returns:
        TOML text that `simulation.config.load` reads back to an equal Scenario.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    tables = []
    for name in type(scenario).model_fields:
        value = getattr(scenario, name)
        if isinstance(value, Section):
            tables.append((name, value))
        else:
            lines.append(f"{name} = {_value(value)}")
    for name, section in tables:
        lines += ["", f"[{name}]"]
        lines += [f"{key} = {_value(getattr(section, key))}" for key in type(section).model_fields]
    return "\n".join(lines) + "\n"
