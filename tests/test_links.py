"""Every relative link in the READMEs, ``docs/`` and the notebooks resolves: the file exists and, for
``#anchor``, the heading does (GitHub's anchors: lower case, punctuation dropped, spaces to ``-``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]

# [text](target) and ![alt](target); a target may carry a "title". Code spans and fenced blocks are
# removed first: a link written inside code is an example, not a link.
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def documents() -> list[Path]:
    """The Markdown documents and notebooks a reader follows links in."""
    found = [REPO / "README.md", REPO / "README.zh-CN.md", *sorted((REPO / "docs").rglob("*.md"))]
    found += sorted((REPO / "notebooks").rglob("*.md")) + sorted((REPO / "notebooks").rglob("*.ipynb"))
    return [path for path in found if ".ipynb_checkpoints" not in path.parts and "runs" not in path.parts]


def markdown_of(path: Path) -> str:
    """A document's Markdown: the file, or a notebook's Markdown cells."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def without_code(markdown: str) -> str:
    return _CODE.sub("", _FENCE.sub("", markdown))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading.

    Example:
        >>> slug("Several devices, several machines, and faults")
        'several-devices-several-machines-and-faults'
        >>> slug("The `compare` table (κ = 273)")
        'the-compare-table-κ--273'
        >>> slug("张量与自动求导")
        '张量与自动求导'
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a document defines: its headings' (duplicates numbered as GitHub does) and
    explicit ``<a name=...>``."""
    markdown = _FENCE.sub("", markdown_of(path))
    found: set[str] = set(_HTML_ANCHOR.findall(markdown))
    counts: dict[str, int] = {}
    for _, heading in _HEADING.findall(markdown):
        base = slug(heading)
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    """What is wrong with each relative link of ``path`` (links must stay inside ``root``)."""
    problems = []
    for target in _LINK.findall(without_code(markdown_of(path))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        destination = path if not file_part else (path.parent / unquote(file_part)).resolve()
        if not destination.exists():
            problems.append(f"{target}: no such file")
            continue
        if root.resolve() not in destination.parents and destination != root.resolve():
            problems.append(f"{target}: outside the repository")
            continue
        if anchor and destination.suffix in (".md", ".ipynb") and unquote(anchor) not in anchors(destination):
            problems.append(f"{target}: no heading with the anchor #{anchor} in {destination.name}")
    return problems


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(document):
    assert document.is_file(), f"{document.relative_to(REPO)} is missing"
    assert broken_links(document) == []


def test_the_checker_finds_a_broken_link_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n## Some section\n\n[ok](#some-section) [x](b.md) [y](#nope)\n")
    (tmp_path / "c.md").write_text("[ok](a.md#title) [bad](a.md#missing) `[code](nowhere.md)`\n")
    assert broken_links(tmp_path / "a.md", tmp_path) == [
        "b.md: no such file",
        "#nope: no heading with the anchor #nope in a.md",
    ]
    assert broken_links(tmp_path / "c.md", tmp_path) == ["a.md#missing: no heading with the anchor #missing in a.md"]
