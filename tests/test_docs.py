"""The documents stand on their own: every docstring citation resolves inside the repository.

A source, test or benchmark file may cite ``docs/theory/<page>.md section N`` (or ``sections
N-M``); the page must exist and hold a heading or a bold paragraph label numbered N. No source
cites the external spec notes, and the README stays within its 150 lines with only links that
resolve. The README's and the docs' code blocks run in ``test_docs_blocks.py``.
"""

from __future__ import annotations

import re
import sys
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


# ------------------------------------------------------------------------------ the API reference
def _hooks():
    """docs/hooks.py, the mkdocs hook that generates the API reference (not a package module)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("optdyn_docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def _reference_sections(pages: dict[str, str]) -> dict[str, tuple[set[str], set[str], set[str]]]:
    """Per module section of the generated pages: (rendered members, linked names, link
    targets), read from the Markdown itself."""
    out = {}
    text = "\n".join(pages.values())
    for part in re.split(r"^<!-- module ", text, flags=re.M)[1:]:
        module, _, body = part.partition(" -->")
        members = set()
        for block in re.findall(r"^      members: \[(.*)\]$", body, flags=re.M):
            members |= {m.strip() for m in block.split(",") if m.strip()}
        links = re.findall(r"\[`([^`]+)`\]\[([\w.]+)\]", body)
        out[module] = (members, {n for n, _ in links}, {t for _, t in links})
    return out


def _undocumented(modules, pages) -> list[str]:
    """``module.name`` for every ``__all__`` name the generated reference neither renders nor
    links to a rendered object; and every link whose target is rendered nowhere."""
    sections = _reference_sections(pages)
    rendered = {m for m in sections} | {f"{t}.{n}" for m, (mem, _, _) in sections.items()
                                         for t in re.findall(r"^::: ([\w.]+)$",
                                                             pages_text(pages, m), flags=re.M)
                                         for n in mem}
    missing = []
    for pm in modules:
        members, linked, _ = sections.get(pm.name, (set(), set(), set()))
        missing += [f"{pm.name}.{n}" for n in pm.names if n not in members | linked]
    for _m, (_, _, targets) in sections.items():
        missing += [f"link to {t}" for t in targets if t not in rendered]
    return missing


def pages_text(pages: dict[str, str], module: str) -> str:
    """The generated section of ``module``."""
    text = "\n".join(pages.values())
    return text.split(f"<!-- module {module} -->", 1)[1].split("<!-- module ", 1)[0]


@pytest.fixture(scope="module")
def reference():
    hooks = _hooks()
    modules = hooks.public_modules()
    return hooks, modules, hooks.reference_pages(modules)


def test_every_public_module_is_walked(reference):
    """The walk finds every public module file of the package (no ``_`` component)."""
    _, modules, _ = reference
    found = {pm.name for pm in modules}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        packaged = all((d / "__init__.py").is_file() for d in path.parents
                       if d.is_relative_to(SRC))  # not a folder without __init__.py
        if packaged and not any(p.startswith("_") for p in parts):
            assert ".".join(parts) in found, ".".join(parts)
    assert {"optdyn", "optdyn.theory", "optdyn.simulate", "optdyn.problems", "optdyn.optimizers",
            "optdyn.noise", "optdyn.schedules", "optdyn.analysis", "optdyn.plot", "optdyn.io",
            "optdyn.rmt", "optdyn.sweep", "optdyn.study", "optdyn.config", "optdyn.reproduce",
            "optdyn.grid", "optdyn.results"} <= found


def test_every_public_name_is_in_the_api_reference(reference):
    """Every name of every public ``__all__`` is rendered in the generated reference, or linked
    from its module's section to the place where the same object is rendered."""
    _, modules, pages = reference
    assert sum(len(pm.names) for pm in modules) > 400
    assert _undocumented(modules, pages) == []


def test_the_api_reference_check_can_fail(reference):
    hooks, modules, pages = reference
    # a name dropped from the rendered members of optdyn.theory
    broken = {p: t.replace("members: [run, ", "members: [", 1) for p, t in pages.items()}
    assert broken != pages
    assert "optdyn.theory.run" in _undocumented(modules, broken)
    # a public module whose __all__ grew a name the pages (generated before) do not have
    import optdyn.theory

    grown = [hooks.PublicModule(pm.name, pm.module, (*pm.names, "brand_new"))
             if pm.name == "optdyn.theory" else pm for pm in modules]
    assert _undocumented(grown, pages) == ["optdyn.theory.brand_new"]
    assert optdyn.theory.__all__[0] == "run"
    # a link to an object rendered nowhere
    bad = {p: t + "\n[`x`][optdyn.nowhere.x]\n" for p, t in pages.items()}
    assert "link to optdyn.nowhere.x" in _undocumented(modules, bad)


# figures kept from an earlier `optdyn reproduce` run without their caption file (about an hour
# to rebuild); their page says so and carries the caption in its text
NOT_REBUILT = {"muon-phases-sim"}


def test_every_figure_is_shown_on_a_page():
    """Each PNG under docs/figures/ (outputs of ``optdyn reproduce``) is shown by some page, with
    its caption file included."""
    text = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    figures = sorted((ROOT / "docs" / "figures").glob("*/*.png"))
    assert figures
    for png in figures:
        rel = png.relative_to(ROOT / "docs").as_posix()
        assert f"]({rel})" in text, f"no page shows {rel}"
        caption = png.parent / f"{png.parent.name}.md"
        if png.parent.name in NOT_REBUILT:
            said = f"earlier output of `optdyn reproduce {png.parent.name}`"
            assert said in " ".join(text.split()), f"{rel}: its page does not say what it is"
            continue
        assert caption.is_file(), f"{caption} is missing"
        assert f'--8<-- "figures/{png.parent.name}/{caption.name}"' in text, caption.name
