"""A griffe extension: the docstrings' Sphinx roles become cross-references of the API reference.

The docstrings are Google style (``Args:``, ``Returns:``) with Sphinx roles in the text
(:func:`x`, :class:`x`, :mod:`x`, :meth:`x`, :attr:`x`, :data:`x`, :exc:`x`, :obj:`x`), which
Markdown would print literally. Each role is rewritten before the docstring is parsed:

- a target that names a public object (``optdyn.`` and no ``_`` component), written in full or
  relative to the docstring's class, module or package (``.laws``, ``run``, ``~optdyn.x.y``),
  becomes a mkdocs-autorefs cross-reference to it (the ``~`` form shows the last component);
- the rest (private helpers, objects outside optdyn) are printed as inline code.

Cross-references to objects written out in full (``optdyn.theory.run``) are required: if the
object is not rendered anywhere in the site, autorefs warns and ``mkdocs build --strict`` fails.
The short and relative forms are best effort (``optional``): they link where the object they
resolve to is rendered and are plain code otherwise.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(func|mod|class|meth|attr|data|exc|obj):`([^`]+)`")


def _public(path: str) -> bool:
    return path.startswith("optdyn") and not any(p.startswith("_") for p in path.split("."))


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of the loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        self.collection = loader.modules_collection
        self._walk(pkg, set())

    def _walk(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = ROLE.sub(lambda m: self._ref(m, obj), obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, seen)

    def _exists(self, path: str) -> bool:
        try:
            self.collection[path]
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return False
        return True

    def _candidates(self, target: str, obj: griffe.Object) -> list[str]:
        module = obj if obj.is_module else obj.module
        package = module if module.is_package else (module.parent or module)
        if target.startswith("."):
            base, rest = package, target[1:]
            while rest.startswith("."):
                base, rest = (base.parent or base), rest[1:]
            return [f"{base.path}.{rest}"]
        scopes = [obj, obj.parent, module, package]
        out = [target]
        out += [f"{s.path}.{target}" for s in scopes if s is not None and not s.is_alias]
        return out + [f"optdyn.{target}"]

    def _ref(self, m: re.Match, obj: griffe.Object) -> str:
        raw = m.group(2).strip()
        short = raw.startswith("~")
        target = raw.lstrip("~").removesuffix("()")
        shown = target.rsplit(".", 1)[-1] if short else target
        if m.group(1) in ("func", "meth") and not shown.endswith(")"):
            shown += "()"
        code = f"<code>{shown}</code>"
        for path in self._candidates(target, obj):
            if _public(path) and self._exists(path):
                written_out = target.startswith("optdyn.")
                optional = "" if written_out else " optional"
                return f'<autoref identifier="{path}"{optional}>{code}</autoref>'
        return f"`{shown}`"
