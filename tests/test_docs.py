"""The documents in the repository are all a person who clones it needs, and they stay true.

- No tracked file cites a document the repository does not contain: every ``*.md`` it names
  and every path into the notes folders once kept beside the repository must exist here
  (relative to the citing file or to the root).
- Every relative link in the Markdown files resolves, anchors included.
- Every repository path that ``docs/`` names (in code spans) exists.
- The annotation example of ``docs/architecture.md`` is the one the SDK tests validate.
- ``CHANGELOG.md`` has a section for the version the code reports.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import edgewhisk
import pytest
from sdk.design_example import design_doc

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

GENERATED = frozenset({"bench/out"})
"""Paths the docs name that only exist once something ran (gitignored)."""

_PATH = r"[\w./-]"
_START = r"(?<![\w./:-])"  # not inside a longer path, and not a URL's path
MARKDOWN_NAME = re.compile(_START + rf"({_PATH}*\w\.md)\b")
NOTES_PATH = re.compile(_START + rf"((?:\.\.[/])+shared\b{_PATH}*|plans[/]{_PATH}*)")
"""A path into the notes folders the project once kept beside the repository. (``[/]``, not
``/``: this file names them to find them, and a grep for a citation should not find it.)"""
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


@functools.cache
def tracked() -> tuple[str, ...]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return tuple(line for line in out.splitlines() if (ROOT / line).is_file())


def _exists(cited: str, source: Path) -> bool:
    """Whether ``cited`` names a file or folder here, from the citing file or from the root."""
    cited = cited.rstrip("/.,;:")
    return any((base / cited).exists() for base in (source.parent, ROOT))


def _not_here(text: str, source: Path) -> list[str]:
    """What ``text`` (the content of ``source``) cites that a clone does not have."""
    return [cited for pattern in (MARKDOWN_NAME, NOTES_PATH) for cited in pattern.findall(text)
            if not _exists(cited, source)]


def test_no_file_cites_a_document_the_repository_does_not_contain() -> None:
    missing = []
    for name in tracked():
        text = (ROOT / name).read_bytes().decode("utf-8", errors="replace")
        missing += [f"{name}: {cited}" for cited in _not_here(text, ROOT / name)]
    assert not missing, "cited but not in the repository:\n" + "\n".join(missing)


def _markdown_files() -> list[Path]:
    return [ROOT / name for name in tracked() if name.endswith(".md")]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_in_the_markdown_resolves(path: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", path.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    assert not broken, "\n".join(broken)


def _top_level() -> set[str]:
    return {Path(name).parts[0] for name in tracked() if len(Path(name).parts) > 1}


def _named_paths(path: Path) -> set[str]:
    top = "|".join(sorted(_top_level()))
    repo_path = re.compile(rf"(?:{top})/{_PATH}*")
    return {span.rstrip("/") for span in CODE_SPAN.findall(path.read_text())
            if repo_path.fullmatch(span)}


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_path_the_docs_name_exists(path: Path) -> None:
    names = _named_paths(path)
    missing = {n for n in names - GENERATED if not (ROOT / n).exists()}
    assert missing == set()


def _block(text: str, language: str, containing: str) -> str:
    blocks = re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return next(block for block in blocks if containing in block)


def _decorators(source: str) -> str:
    """The decorator stack and the def line of the example's main."""
    start = source.index("\n@") + 1
    return source[start:source.index(":\n", source.index("def main(", start)) + 1]


def test_the_architecture_shows_the_annotation_example_the_sdk_tests_validate() -> None:
    page = (ROOT / "docs/architecture.md").read_text()
    example = (ROOT / "tests" / "sdk" / "design_example.py").read_text()
    assert json.loads(_block(page, "json", '"consumes"')) == design_doc()
    assert _decorators(_block(page, "python", "@consumes")) == _decorators(example)


def test_the_changelog_has_a_section_for_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, re.MULTILINE)
    assert released and released[0] == edgewhisk.__version__
