"""The page's settings in its address, so a reload or a shared link shows the same run.

`?start=peer_only.toml&population.size=2000&program.agency=2&week=5` reads: start from
peer_only.toml, change two parameters (schema keys, as `--set` names them), show week 5. The
comparison adds `view=compare` and one `config=<structure>[;key=value...]` per configuration.
Only what differs from the starting point is written, so addresses stay short; a value that is
not allowed is not dropped but shown, marked, in its control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from .controls import SCHEMA_DEFAULTS, Configuration, all_controls

VIEWS = ("single", "compare")


@dataclass(frozen=True)
class Settings:
    """What the address says: the view, the starting point, the changes and the week."""

    view: str = "single"
    start: str = SCHEMA_DEFAULTS
    changes: tuple[tuple[str, str], ...] = ()  # (schema key, text) differing from the start
    configurations: tuple[Configuration, ...] = ()  # the comparison's, in order
    week: int = 0
    problems: tuple[str, ...] = field(default=(), compare=False)  # what was ignored, and why


def encode(settings: Settings) -> str:
    """The query string (without '?') of some settings."""
    pairs: list[tuple[str, str]] = []
    if settings.view != "single":
        pairs.append(("view", settings.view))
    if settings.start != SCHEMA_DEFAULTS:
        pairs.append(("start", settings.start))
    pairs += list(settings.changes)
    if settings.view == "compare":
        for c in settings.configurations:
            pairs.append(("config", c.structure + (f";{c.changes}" if c.changes else "")))
    if settings.week:
        pairs.append(("week", str(settings.week)))
    return urlencode(pairs)


def decode(query: str | None) -> Settings:
    """The settings an address holds; what cannot be read is listed in `problems`."""
    keys = {c.key for c in all_controls()}
    view, start, week = "single", SCHEMA_DEFAULTS, 0
    changes: list[tuple[str, str]] = []
    configurations: list[Configuration] = []
    problems: list[str] = []
    for name, value in parse_qsl(query or "", keep_blank_values=True):
        if name == "view":
            if value in VIEWS:
                view = value
            else:
                problems.append(f"view={value!r} (allowed: {', '.join(VIEWS)})")
        elif name == "start":
            start = value or SCHEMA_DEFAULTS
        elif name == "week":
            if value.isdigit():
                week = int(value)
            else:
                problems.append(f"week={value!r} (allowed: a whole number of weeks)")
        elif name == "config":
            structure, _, extra = value.partition(";")
            configurations.append(Configuration(structure.strip(), extra.strip()))
        elif name in keys:
            changes.append((name, value))
        elif name != "doc":
            problems.append(f"{name!r} (not a setting of the dashboard)")
    return Settings(view, start, tuple(changes), tuple(configurations), week, tuple(problems))
