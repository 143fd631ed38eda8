"""Scenario configuration: the schema, scenario files, `--set` overrides and parameter tables.

The schema holds every parameter's default, bounds, unit and meaning, written once; `loading`
reads TOML files and `--set` overrides; `parameters` generates the tables from the schema.
"""

from .errors import ScenarioError
from .loading import apply_overrides, load, parse_override, read_toml
from .schema import LEVEL_NAMES, Scenario, describe_bounds, field_info, parameter_keys, validate

__all__ = [
    "LEVEL_NAMES",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "describe_bounds",
    "field_info",
    "load",
    "parameter_keys",
    "parse_override",
    "read_toml",
    "validate",
]
