"""The repository stands alone: no reference to a document outside it, and no broken link."""

from __future__ import annotations

import re
from pathlib import Path

from .helpers import ROOT

# Documents the project was founded on that are not part of the repository; readers do not have
# them, so nothing may point at them. Built by concatenation so this file does not match itself.
OUTSIDE = (
    *(name + ".md" for name in ("MODEL", "CALIBRATION", "ENVIRONMENT", "STYLE")),
    ".." + "/shared",
)

# Where a reference could hide: the package, its docs, tests, experiments, benchmarks, scenarios,
# CI scripts and the project's metadata.
SCANNED = ("simulation", "docs", "experiments", "tests", "benchmarks", "scenarios", ".ci",
           "README.md", "pyproject.toml", "CITATION.cff")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", "results"}


# The structure docs/CONTRIBUTING.md adds as its worked example: its files do not exist.
EXAMPLE_STRUCTURE = "tutoring_circle"

# Markdown files whose relative links must resolve.
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
            *sorted((ROOT / "experiments").glob("*/README.md"))]


def _text_files(root: Path):
    """Every readable text file under the scanned paths (binary files are skipped)."""
    for name in SCANNED:
        path = root / name
        paths = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for file in paths:
            if not file.is_file() or SKIPPED_DIRS & set(file.relative_to(root).parts):
                continue
            try:
                yield file, file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def outside_references(root: Path) -> dict[str, list[str]]:
    """Files under `root` that name a document outside the repository: path -> names found."""
    found = {}
    for file, text in _text_files(root):
        names = [name for name in OUTSIDE if name in text]
        if names:
            found[file.relative_to(root).as_posix()] = names
    return found


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown file's headings (repeated headings get -1, -2, ...)."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", _without_code(markdown), re.MULTILINE):
        slug = _slug(heading)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _without_code(markdown: str) -> str:
    """Markdown with fenced code blocks and inline code removed (links there are not links)."""
    without_blocks = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", without_blocks)


def broken_links(path: Path) -> list[str]:
    """The relative links of a Markdown file whose file (or heading anchor) does not exist."""
    text = _without_code(path.read_text(encoding="utf-8"))
    targets = re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    targets += re.findall(r"^ {0,3}\[[^\]\n]+\]:[ \t]*(\S+)", text, re.MULTILINE)  # [name]: target
    broken = []
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        anchor_missing = (
            linked.exists()
            and anchor
            and linked.suffix == ".md"
            and anchor not in _anchors(linked.read_text(encoding="utf-8"))
        )
        if not linked.exists() or anchor_missing:
            broken.append(target)
    return broken


def test_no_file_refers_to_a_document_outside_the_repository():
    """Nothing in the package, docs, tests, experiments or benchmarks names an outside document."""
    found = outside_references(ROOT)
    assert not found, f"point these at docs/ instead: {found}"


def test_the_check_finds_an_outside_reference(tmp_path):
    """A file naming an outside document is reported, so a clean result means something."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("See " + "CALIBRATION" + ".md for the targets.\n")
    (tmp_path / "docs" / "b.md").write_text("See docs/calibration.md for the targets.\n")
    assert outside_references(tmp_path) == {"docs/a.md": ["CALIBRATION" + ".md"]}


def test_every_relative_link_of_the_readme_and_docs_leads_to_an_existing_file():
    """Relative Markdown links (and their heading anchors) in README.md and docs/ resolve."""
    assert len(MARKDOWN) > 5
    broken = {
        path.relative_to(ROOT).as_posix(): links
        for path in MARKDOWN
        if (links := broken_links(path))
    }
    assert not broken, broken


def test_every_module_the_readme_and_docs_name_exists():
    """Each simulation/....py path named in README.md and docs/ is a file (modules move)."""
    named = {
        (page.relative_to(ROOT).as_posix(), module)
        for page in MARKDOWN
        for module in re.findall(r"\bsimulation/[\w/]+\.py\b", page.read_text(encoding="utf-8"))
        if EXAMPLE_STRUCTURE not in module
    }
    assert len(named) > 20
    missing = sorted((page, module) for page, module in named if not (ROOT / module).is_file())
    assert not missing, missing


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    """A link to a missing file or to a missing heading is reported; good links are not."""
    (tmp_path / "other.md").write_text("# Title\n\n## 10. Open questions (2026-11)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#10-open-questions-2026-11) [web](https://example.org/x.md)\n"
        "[gone](missing.md) [no heading](other.md#nowhere) `[code](not-a-link.md)`\n"
    )
    assert broken_links(page) == ["missing.md", "other.md#nowhere"]
