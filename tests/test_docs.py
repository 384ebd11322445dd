"""The documents stand on their own: every docstring citation resolves inside the repository.

A source, test or benchmark file may cite ``docs/theory/<page>.md section N`` (or ``sections
N-M``); the page must exist and hold a heading or a bold paragraph label numbered N. No source
cites the external spec notes, and the README stays within its 150 lines with only links that
resolve. The README's and the docs' code blocks run in ``test_docs_blocks.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "optdyn"
SOURCES = sorted([*SRC.rglob("*.py"), *(ROOT / "tests").glob("*.py"),
                  *(ROOT / "benchmarks").glob("*.py")])
CITE = re.compile(r"docs/theory/([a-z_]+\.md)(?:,? sections? ([0-9A-Z][0-9A-Z.]*(?:-[0-9A-Z.]+)?"
                  r"(?: and [0-9A-Z][0-9A-Z.]*)?))?")


def _citations() -> list[tuple[str, str, str | None]]:
    out = []
    for path in SOURCES:
        text = " ".join(path.read_text().split())  # citations may wrap across lines
        for page, sec in CITE.findall(text):
            out.append((str(path.relative_to(ROOT)), page, sec.rstrip(".") or None))
    return out


def _labels(page: Path) -> set[str]:
    text = page.read_text()
    heads = re.findall(r"^#+ ([0-9A-Z][0-9A-Z.]*)[ .]", text, flags=re.M)
    bold = re.findall(r"\*\*([0-9A-Z][0-9A-Z.]*\.?[0-9]*)[ .]", text)
    rows = re.findall(r"^\| (A[0-9]+) \|", text, flags=re.M)  # acceptance-check tables
    return {s.rstrip(".") for s in heads + bold + rows}


def test_sources_cite_theory_pages_often_and_the_check_can_fail():
    assert len(_citations()) > 50
    labels = _labels(ROOT / "docs" / "theory" / "muon.md")
    assert {"2.4", "3.2", "A2"} <= labels and "9.9" not in labels


@pytest.mark.parametrize("where,page,section", _citations())
def test_every_docstring_citation_resolves(where, page, section):
    path = ROOT / "docs" / "theory" / page
    assert path.exists(), f"{where} cites missing {path.relative_to(ROOT)}"
    if section is None:
        return
    labels = _labels(path)
    parts = re.split(r"-| and ", section)
    for part in parts:
        assert part in labels, f"{where} cites {page} section {part}, which it does not hold"


def test_no_source_cites_a_file_outside_the_repository():
    bad = re.compile(r"\bspec (signsgd|muon|rmt|clipping)|\.\./shared|shared/spec|shared/seeds")
    hits = [str(p.relative_to(ROOT)) for p in SOURCES
            if p.name != "test_docs.py" and bad.search(p.read_text())]
    assert not hits


def test_readme_is_short_and_its_links_resolve():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link


def test_the_readme_study_parses():
    """The README's study (TOML) is a valid study with the grid it shows."""
    import tomllib

    from optdyn.study import parse_study, point_objects

    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "the README shows a study"
    study = parse_study(tomllib.loads(blocks[0]))
    problem, _ = point_objects(study.point_spec(0))
    assert study.grid.shape == (4,) and problem.eigenvalues.size == 32
