"""Reading scenario files and `--set` overrides into validated Scenarios."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import ScenarioError
from .schema import Scenario, validate


def parse_override(text: str, source: str = "--set") -> tuple[str, Any]:
    """Parse 'section.key=value'; the value is read as TOML (numbers, strings, lists) or bare text.

    Raises:
        ScenarioError: the text has no '='.
    """
    if "=" not in text:
        raise ScenarioError(source, f"'{text}' is not of the form section.key=value")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        parsed = tomllib.loads(f"v = {raw}")
    except (tomllib.TOMLDecodeError, RecursionError):  # tomllib recurses into nested arrays
        parsed = {}
    # Exactly one TOML value, else the text as typed: bare words such as peer_only are text, and
    # 'run.steps=3\nrun.seed=5' is not quietly read as 3 (it is refused as a value of run.steps).
    return key, parsed["v"] if set(parsed) == {"v"} else raw


def read_toml(
    path: Path, error: type[ScenarioError] = ScenarioError, kind: str = "scenario"
) -> dict[str, Any]:
    """The TOML data of a file, or a one-line `error` for a missing, non-text or malformed file."""
    source = str(path)
    try:
        is_file = path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a folder we may not enter, a NUL
        raise error(source, f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    if not is_file:
        raise error(source, f"no such {kind} file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise error(source, "not a UTF-8 text file") from None
    except OSError as exc:  # e.g. no permission to read it
        raise error(source, f"cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(source, f"malformed TOML: {exc}") from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise error(source, "malformed TOML: nested too deeply") from None


def load(path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Scenario:
    """Read, validate and override a scenario file."""
    path = Path(path)
    source = str(path)
    data = read_toml(path)
    data.setdefault("name", path.stem)
    scenario = validate(data, source)
    return apply_overrides(scenario, overrides)


def apply_overrides(scenario: Scenario, overrides: list[str] | dict[str, Any] | None) -> Scenario:
    """Apply `--set` overrides given as 'key=value' strings or a dict."""
    if not overrides:
        return scenario
    if isinstance(overrides, dict):
        pairs = overrides
    else:
        pairs = dict(parse_override(text) for text in overrides)
    return scenario.with_overrides(pairs, source="--set " + ", ".join(f"{k}" for k in pairs))
