"""mkdocs hooks of the documentation site (``mkdocs.yml``: ``hooks: [docs/hooks.py]``).

Three jobs, so that the site stays in step with the code and the repository without hand edits:

- **The API reference is generated from ``__all__``.** :func:`public_modules` imports ``optdyn``
  and every public submodule (no path component starting with ``_``) and reads its ``__all__``;
  :func:`reference_pages` writes one page per top-level module (``reference/<name>.md``, the
  package itself on ``reference/index.md``) with a mkdocstrings ``:::`` block per module, whose
  ``members`` are the names of its ``__all__``. An object is documented in full once, at the
  shallowest public module that exports it; deeper modules that re-export it, and names that are
  modules, link to it. Modules that are deprecated aliases of another module (``optdyn.results``
  and the like) are listed on ``reference/moved.md``. A new public name or module therefore
  appears without editing anything; ``tests/test_docs.py`` checks that every ``__all__`` name is
  in the generated pages, and :func:`on_page_content` checks that each one was rendered (a
  warning, so ``mkdocs build --strict`` fails).
- **Links that leave docs/ become links into the site.** The README, ``benchmarks/README.md`` and
  ``examples/`` are mirrored as generated pages under ``repo/`` (:data:`MIRRORS`), and every
  relative link of a page (docs or mirrored) is rewritten against the page's place in the
  repository: a target inside docs/ gets its docs-relative path, a mirrored file its mirror page.
  Any other target is left alone, so mkdocs reports it (and ``--strict`` fails).
- **Figure captions are included.** A line ``--8<-- "figures/NAME/NAME.md"`` (the snippets
  syntax) is replaced by that caption file, written by ``optdyn reproduce NAME``, with its
  headings moved down three levels so that they nest under the figure's heading (and its
  two-space sublists indented by four, as Python-Markdown wants). A missing caption is a
  warning.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import posixpath
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = "optdyn"
REFERENCE = "reference"
REFERENCE_TITLE = "API reference"

log = logging.getLogger("mkdocs.hooks.optdyn")


# ------------------------------------------------------------------------------ API reference
@dataclass(frozen=True)
class PublicModule:
    """A public module of the package: its dotted name, the module object and its ``__all__``."""

    name: str
    module: ModuleType
    names: tuple[str, ...]

    @property
    def moved_to(self) -> str | None:
        """The module this name is a deprecated alias of, or None."""
        return None if self.module.__name__ == self.name else self.module.__name__

    @property
    def page(self) -> str:
        """The reference page (docs-relative) that documents this module."""
        if self.moved_to is not None:
            return f"{REFERENCE}/moved.md"
        parts = self.name.split(".")
        return f"{REFERENCE}/index.md" if len(parts) == 1 else f"{REFERENCE}/{parts[1]}.md"


def _raise(name: str) -> None:
    raise ImportError(f"the API reference cannot import {name}")


def public_modules() -> list[PublicModule]:
    """``optdyn`` and its public submodules (no ``_`` path component), shallowest first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the deprecated aliases warn on import
        root = importlib.import_module(PACKAGE)
        names = [PACKAGE] + [
            m.name for m in pkgutil.walk_packages(root.__path__, f"{PACKAGE}.", onerror=_raise)
            if not any(p.startswith("_") for p in m.name.split("."))]
        mods = [importlib.import_module(n) for n in names]
    out = [PublicModule(n, m, tuple(getattr(m, "__all__", ()))) for n, m in zip(names, mods,
                                                                                    strict=True)]
    return sorted(out, key=lambda p: (p.moved_to is not None, p.name.count("."), p.name))


def _is_module(obj: Any) -> bool:
    return isinstance(obj, ModuleType)


def reference_pages(modules: list[PublicModule] | None = None) -> dict[str, str]:
    """The generated reference: docs-relative path -> Markdown."""
    modules = public_modules() if modules is None else modules
    documented: dict[tuple[str, int], str] = {}  # (name, id(object)) -> where it is rendered
    sections: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for pm in modules:
        render, linked = [], []
        for name in pm.names:
            obj = getattr(pm.module, name)
            if _is_module(obj):
                linked.append((name, obj.__name__))
                continue
            key = (name, id(obj))
            if key in documented:
                linked.append((name, documented[key]))
            else:
                documented[key] = f"{pm.name}.{name}"
                render.append(name)
        target = pm.module.__name__ if pm.moved_to else pm.name
        lines = [f"<!-- module {pm.name} -->", ""]  # tests/test_docs.py reads these sections
        if pm.moved_to:
            lines += [f"## `{pm.name}`", "",
                      f"Deprecated alias of `{pm.moved_to}` (importing it warns; it will be "
                      "removed in the next release).", ""]
        if not pm.moved_to or render:
            members = "[" + ", ".join(render) + "]"
            lines += [f"::: {target}", "    options:", "      show_root_heading: true",
                      f"      show_root_toc_entry: {'false' if pm.moved_to else 'true'}",
                      f"      heading_level: {3 if pm.moved_to else 2}",
                      f"      members: {members}", ""]
        if linked:
            refs = ", ".join(f"[`{n}`][{where}]" for n, where in linked)
            lead = "Also in its `__all__`" if render or not pm.moved_to else "Its `__all__`"
            lines += [f"{lead}, documented elsewhere: {refs}.", ""]
        if not pm.names:
            lines += ["Its `__all__` is empty.", ""]
        sections.setdefault(pm.page, []).extend(lines)
        titles.setdefault(pm.page, pm.name)
    pages = {}
    for page, lines in sections.items():
        if page.endswith("moved.md"):
            head = ["# Moved modules", "",
                    "Old module names kept as aliases for one release; each lists its names and "
                    "where they are documented.", ""]
        elif page.endswith("index.md"):
            others = [p for p in sections if p != page]
            head = [f"# {REFERENCE_TITLE}", "",
                    "Generated from the docstrings by `docs/hooks.py`: every name in the `__all__` "
                    "of `optdyn` and of each public submodule. One page per module of the package:",
                    "", *[f"- [`{titles[p]}`]({posixpath.basename(p)})" if not p.endswith(
                        "moved.md") else f"- [moved modules]({posixpath.basename(p)})"
                        for p in others], ""]
        else:
            head = [f"# `{titles[page]}`", ""]
        pages[page] = "\n".join(head + lines)
    return pages


def expected_anchors(modules: list[PublicModule]) -> dict[str, set[str]]:
    """Per reference page, the anchors (object paths) its HTML must hold."""
    out: dict[str, set[str]] = {}
    seen: set[tuple[str, int]] = set()
    for pm in modules:
        target = pm.module.__name__ if pm.moved_to else pm.name
        anchors = out.setdefault(pm.page, set())
        if not pm.moved_to:
            anchors.add(pm.name)
        for name in pm.names:
            obj = getattr(pm.module, name)
            if _is_module(obj) or (name, id(obj)) in seen:
                continue
            seen.add((name, id(obj)))
            anchors.add(f"{target}.{name}")
    return out


# ------------------------------------------------------------------------------ mirrored files
# repository path -> (site page, title); a directory mirrors as one page holding its files
MIRRORS = {
    "README.md": ("repo/readme.md", "README"),
    "benchmarks/README.md": ("repo/benchmarks-readme.md", "benchmarks/README.md"),
    "examples": ("repo/examples.md", "Examples"),
}
_LANG = {".py": "python", ".toml": "toml", ".md": ""}


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def mirror_source(path: str) -> str:
    """The Markdown of the mirror page of a repository file or directory."""
    full = ROOT / path
    if full.is_file():
        return full.read_text()
    parts = [f"# {MIRRORS[path][1]}", "",
             f"The files of `{path}/` in the repository; each says what it shows and how long it "
             "takes. `tests/test_docs_blocks.py` runs them.", ""]
    for f in sorted(full.iterdir()):
        if f.suffix in _LANG and f.is_file():
            parts += [f"## `{path}/{f.name}` {{ #{_anchor(f.name)} }}", "",
                      f"```{_LANG[f.suffix]}", f.read_text().rstrip("\n"), "```", ""]
    return "\n".join(parts)


def _mirror_of(rel: str) -> tuple[str, str] | None:
    """(mirror page, fragment) for a repository-relative path, or None."""
    if rel in MIRRORS:
        return MIRRORS[rel][0], ""
    parent, _, name = rel.rpartition("/")
    if parent in MIRRORS and (ROOT / parent).is_dir():
        return MIRRORS[parent][0], _anchor(name)
    return None


_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
_FENCE = re.compile(r"^(```|~~~)")


def rewrite_links(markdown: str, source: str, page_uri: str) -> str:
    """Rewrite the relative links of a page whose source is the repository path ``source`` and
    whose site path is ``page_uri`` (see the module docstring)."""
    src_dir = posixpath.dirname(source)
    page_dir = posixpath.dirname(page_uri)

    def fix(m: re.Match) -> str:
        target = m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return m.group(0)
        path, hash_, frag = target.partition("#")
        rel = posixpath.normpath(posixpath.join(src_dir, path)).rstrip("/")
        if rel.startswith("docs/"):
            new = posixpath.relpath(rel[len("docs/"):], page_dir or ".")
        elif (mirror := _mirror_of(rel)) is not None:
            new = posixpath.relpath(mirror[0], page_dir or ".")
            if mirror[1] and not frag:
                hash_, frag = "#", mirror[1]
        else:
            return m.group(0)  # outside docs/ and not mirrored: mkdocs reports it
        return f"{m.group(1)}{new}{hash_}{frag}{m.group(3)}"

    out, fenced = [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
        out.append(line if fenced or _FENCE.match(line.lstrip()) else _LINK.sub(fix, line))
    return "\n".join(out)


_CAPTION = re.compile(r'^([ \t]*)--8<-- "(figures/[^"]+\.md)"[ \t]*$', re.M)
_NESTED = re.compile(r"^( +)(?=(?:[-*+]|\d+\.) )", re.M)


def include_captions(markdown: str, page: str) -> str:
    """Replace each ``--8<-- "figures/NAME/NAME.md"`` line by the caption, headings demoted."""

    def include(m: re.Match) -> str:
        path = DOCS / m.group(2)
        if not path.is_file():
            log.warning("%s includes %s, which does not exist", page, m.group(2))
            return m.group(0)
        text = re.sub(r"^(#{1,3}) ", lambda h: "#" * (len(h.group(1)) + 3) + " ",
                      path.read_text(), flags=re.M)
        text = _NESTED.sub(lambda s: s.group(1) * 2, text)  # 2-space sublists: Markdown wants 4
        return "\n".join(m.group(1) + line if line else line for line in text.splitlines())

    return _CAPTION.sub(include, markdown)


# ------------------------------------------------------------------------------ mkdocs events
_STATE: dict[str, Any] = {}


def on_config(config, **kwargs):
    modules = public_modules()
    _STATE["modules"] = modules
    _STATE["pages"] = reference_pages(modules)
    _STATE["anchors"] = expected_anchors(modules)
    ref = [f"{REFERENCE}/index.md"] + sorted(p for p in _STATE["pages"]
                                             if p != f"{REFERENCE}/index.md")
    for item in config["nav"] or []:
        if isinstance(item, dict) and REFERENCE_TITLE in item:
            item[REFERENCE_TITLE] = ref
    return config


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    for uri, text in _STATE["pages"].items():
        files.append(File.generated(config, uri, content=text))
    for path, (uri, _title) in MIRRORS.items():
        files.append(File.generated(config, uri, content=mirror_source(path)))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    uri = page.file.src_uri
    sources = {uri: path for path, (uri, _t) in MIRRORS.items()}
    source = sources.get(uri, f"docs/{uri}")
    if (ROOT / source).is_dir():
        source = f"{source}/index.md"  # links of the examples page are relative to examples/
    markdown = include_captions(markdown, uri)
    return rewrite_links(markdown, source, uri)


def on_page_content(html, page, config, files, **kwargs):
    want = _STATE.get("anchors", {}).get(page.file.src_uri)
    if want:
        have = set(re.findall(r'id="([^"]+)"', html))
        for anchor in sorted(want - have):
            log.warning("%s: %s is in an __all__ but was not rendered", page.file.src_uri, anchor)
    return html
