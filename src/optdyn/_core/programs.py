"""Programs traced once per machine: a jitted function's traced program kept on disk.

JAX's persistent compilation cache (:mod:`optdyn._core.jax_setup`) saves XLA's compile time,
but a new process still traces and lowers the Python function to find the cache key: for the
theory integrator 0.2-0.5 s per law, most of a warm first call. :func:`call` keeps the traced
program itself (``jax.export``, StableHLO) in ``<cache>/programs/``, keyed on

- the name of the function (e.g. the law's coefficient function),
- the structure, shapes and dtypes of its arguments (static fields of the pytrees included),
- the JAX version, the backend, float64 mode, and a digest of optdyn's own source files, so
  that an edited optdyn never runs a stale program.

A later process deserialises the program (a few ms) instead of tracing it, and its compiled
form comes from the compilation cache. Files are written atomically (a temporary file renamed
into place), so processes may share the folder; past 2000 files the oldest quarter is
removed. With the cache off, or if a program cannot be exported, :func:`call` just calls the
function.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

from optdyn._core import jax_setup
from optdyn._core.files import write_atomic

__all__ = ["call", "function_name", "programs_dir", "source_digest"]

_MAX_FILES = 2000  # about 30 KB each; past it the least recently written go first
_LOADED: dict[str, Callable] = {}
_FAILED: set[str] = set()
_DIGEST: list[str] = []


def programs_dir() -> Path | None:
    """The folder of the kept programs (next to the compilation cache), None when it is off."""
    cache = jax_setup.compilation_cache_dir()
    return None if not cache else Path(cache).parent / "programs"


def source_digest() -> str:
    """SHA-256 of optdyn's Python sources (computed once per process, about 2 ms)."""
    if not _DIGEST:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
        _DIGEST.append(h.hexdigest())
    return _DIGEST[0]


def function_name(fn: Callable) -> str | None:
    """A name that identifies ``fn`` across processes: module and qualified name, and for a
    bound method (a classmethod of a law's base class bound to a subclass) the class or
    object it is bound to. None for what has no such name (a lambda, a closure, a partial):
    its programs are not kept."""
    qual = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if not qual or not module or "<" in qual:
        return None
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        cls = owner if isinstance(owner, type) else type(owner)
        if "<" in cls.__qualname__ or not isinstance(owner, type):
            return None  # bound to an instance: its state is not in the name
        qual = f"{qual}@{cls.__module__}.{cls.__qualname__}"
    return f"{module}.{qual}"


def _key(name: str, treedef: Any, leaves: list) -> str:
    h = hashlib.sha256()
    for part in (name, str(treedef), jax.__version__, jax.default_backend(),
                 str(jax.config.jax_enable_x64), source_digest()):
        h.update(part.encode())
        h.update(b"\0")
    for x in leaves:
        h.update(f"{jax.numpy.shape(x)}{jax.numpy.result_type(x)};".encode())
    return h.hexdigest()[:40]


def _evict(folder: Path) -> None:
    """Keep at most _MAX_FILES programs (each optdyn edit or release keys new ones): past it,
    remove the oldest quarter by modification time."""
    files = list(folder.glob("*.jaxexport"))
    if len(files) <= _MAX_FILES:
        return
    files.sort(key=lambda f: f.stat().st_mtime)
    for f in files[: len(files) - 3 * _MAX_FILES // 4]:
        f.unlink(missing_ok=True)


def call(name: str | None, fn: Callable, *args: Any) -> Any:
    """``fn(*args)`` through its kept program: loaded if a process on this machine traced it
    before, else traced, exported and kept. ``fn`` must be a pure jitted function of arrays
    (pytrees allowed) and ``name`` must identify it across processes (see
    :func:`function_name`); with ``name=None`` it is just called."""
    folder = programs_dir()
    if folder is None or name is None:
        return fn(*args)
    leaves, treedef = jax.tree_util.tree_flatten(args)
    key = _key(name, treedef, leaves)
    run = _LOADED.get(key)
    if run is None and key not in _FAILED:
        run = _load_or_export(folder / f"{key}.jaxexport", fn, treedef, leaves)
        if run is None:
            _FAILED.add(key)
        else:
            _LOADED[key] = run
    return fn(*args) if run is None else run(*leaves)


def _load_or_export(path: Path, fn: Callable, treedef: Any, leaves: list) -> Callable | None:
    from jax import export

    try:
        if path.exists():
            try:
                return jax.jit(export.deserialize(bytearray(path.read_bytes())).call)
            except Exception:  # a corrupt or foreign file: export it again
                path.unlink(missing_ok=True)
        flat = jax.jit(lambda *xs: fn(*jax.tree_util.tree_unflatten(treedef, xs)))
        exported = export.export(flat)(*leaves)
        write_atomic(path, bytes(exported.serialize()))
        _evict(path.parent)
        return jax.jit(exported.call)
    except Exception:  # an unexportable program, a corrupt file: trace as usual
        return None
