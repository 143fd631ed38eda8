"""Parameter tables generated from the schema.

For `peerscale params`, docs/parameters.md and the per-section tables of the docs (one place for
each fact: the schema).
"""

from __future__ import annotations

from .schema import Scenario, describe_bounds, field_info, parameter_keys


def parameter_rows() -> list[dict[str, str]]:
    """One row per parameter (key, default, allowed, unit, meaning) for the CLI and the docs."""
    rows = []
    defaults = Scenario().model_dump()
    for key in parameter_keys():
        info = field_info(key)
        section, _, name = key.partition(".")
        default = defaults[section][name] if name else defaults[section]
        extra = info.json_schema_extra or {}
        rows.append(
            {
                "key": key,
                "default": repr(default) if isinstance(default, str) else str(default),
                "allowed": describe_bounds(key),
                "unit": extra.get("unit", ""),
                "meaning": info.description or "",
            }
        )
    return rows


def parameter_markdown() -> str:
    """The parameter table of docs/parameters.md, generated from this schema."""
    lines = [
        "# PeerScale parameters",
        "",
        "Generated from `simulation/config/schema.py` by "
        "`peerscale params --markdown > docs/parameters.md`;",
        "do not edit by hand (a test checks it is current).",
        "",
        "| key | default | allowed | unit | meaning |",
        "|---|---|---|---|---|",
    ]
    for row in parameter_rows():
        cells = [f"`{row['key']}`", row["default"], row["allowed"], row["unit"], row["meaning"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def parameter_table(section: str) -> str:
    """The rows of one schema section as a Markdown table (e.g. docs/study_groups.md)."""
    lines = ["| key | default | allowed | unit | meaning |", "|---|---|---|---|---|"]
    for row in parameter_rows():
        if row["key"].startswith(section + "."):
            cells = [f"`{row['key']}`", row["default"], row["allowed"], row["unit"], row["meaning"]]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
