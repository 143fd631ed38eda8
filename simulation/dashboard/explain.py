"""What the page says about the model: the introduction, and the docs it links to.

The structures are described by the registry's labels and the levels by the schema's meanings
and per-level magnitudes, so the introduction stays true when either changes. The docs are the
Markdown files of docs/ (in a source checkout) rendered as plain HTML on the dashboard's own
server (`/?doc=ODD.md`), with no script and nothing fetched from elsewhere; the parameter table
is generated from the schema on each request (as docs/parameters.md is).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, quote

from ..config.parameters import parameter_markdown
from ..config.schema import LEVEL_NAMES, Scenario, field_info
from ..structures import all_structures
from .controls import level_text

DOCS = Path(__file__).resolve().parents[2] / "docs"
GENERATED = {"parameters.md": parameter_markdown}  # docs written from the schema, always current
LINKS = (
    ("ODD.md", "Model description (ODD protocol)"),
    ("parameters.md", "Every parameter: default, allowed values, unit, meaning"),
    ("dashboard.md", "This dashboard"),
)


def doc_link(name: str) -> str:
    """The address of a doc on the dashboard's server."""
    return f"?doc={quote(name)}"


def requested_doc(search: str | None) -> str | None:
    """The doc an address asks for (`?doc=ODD.md`), or None for the dashboard itself."""
    values = parse_qs(search or "").get("doc")
    return values[0] if values else None


def introduction(scenario: Scenario) -> str:
    """The introduction as HTML: the pyramid, the structures, the levels, the docs.

    What each level sets (its magnitudes in `scenario`) is in the help of the level's control.
    """
    e = html.escape
    parts = [
        "<p>Every learner has a <b>skill</b> from 0 (novice) to 1 (today's frontier); most are "
        "novices and few are experts: an <b>expertise pyramid</b>. Each week (one step) learners "
        "look for someone <i>just above</i> them to learn from and someone <i>just below</i> to "
        "teach; learning peaks when the source is the <b>optimal gap Z</b> above the learner. "
        "Designated experts, where there are any, teach classes or mentor a few learners. "
        "Learners who lose motivation drop out. Same settings and seed, same numbers.</p>",
        '<div class="peerscale-intro-columns"><div><b>Structures</b> (who teaches)<ul>',
    ]
    parts += [f"<li><code>{e(s.name)}</code>: {e(s.label)}</li>" for s in all_structures()]
    parts.append("</ul></div><div><b>Program levels</b> (Peer Learning Guide, 0-2)<ul>")
    for dimension, names in LEVEL_NAMES.items():
        meaning = (field_info(f"program.{dimension}").description or "").split(":")[0]
        levels = ", ".join(e(level_text(dimension, k)) for k in range(len(names)))
        parts.append(f"<li><b>{e(dimension)}</b>: {e(meaning)} ({levels})</li>")
    parts.append("</ul>What a level sets is in the help under its control.</div></div><p>")
    parts.append(" · ".join(
        f'<a href="{doc_link(name)}" target="_blank" rel="noopener">{e(text)}</a>'
        for name, text in LINKS
    ))
    parts.append("</p>")
    return "".join(parts)


def doc_names() -> list[str]:
    """The docs that can be shown: the Markdown files of docs/ and the generated ones."""
    files = {p.name for p in DOCS.glob("*.md")} if DOCS.is_dir() else set()
    return sorted(files | set(GENERATED))


def doc_html(name: str) -> tuple[str, str]:
    """A doc as (title, HTML); a doc that is not there says where it would be, in one line."""
    import markdown  # a dependency of the project (pyproject.toml), used only here

    if name in GENERATED:
        text = GENERATED[name]()
    elif name in doc_names():
        text = (DOCS / name).read_text(encoding="utf-8")
    else:
        return name, (
            f"<p>{html.escape(name)} is not among the docs of this installation. The model's "
            "documents are in the docs/ folder of the PeerScale source repository; the parameter "
            f'table is always here: <a href="{doc_link("parameters.md")}">parameters.md</a>.</p>'
        )
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    # Links between docs stay on this server; links elsewhere open as they are.
    body = re.sub(r'href="([\w.-]+\.md)(#[^"]*)?"',
                  lambda m: f'href="{doc_link(m.group(1))}{m.group(2) or ""}"', body)
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")),
                 name)
    return title, body
