"""``optdyn reproduce NAME``: the figures of the papers, each rebuilt from a clean checkout.

Every figure is a function registered under a name with :func:`figure`. It receives an output
folder and writes there at least a PNG, the dataset(s) behind it (netCDF) and ``NAME.md``, a
caption file that states the settings (those chosen where the paper's are unknown) and the
numbers measured. Figure modules are listed in ``_MODULES`` and imported on first use, so a
figure's heavy imports cost nothing to the others.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from optdyn._core.progress import heartbeat
from optdyn._core.registry import lookup

__all__ = ["figure", "names", "run", "describe", "write_caption", "single_threaded_blas"]

# modules that register figures (imported lazily; a module that does not exist yet is skipped)
_MODULES = (
    "optdyn.reproduce.clipping",
    "optdyn.reproduce.signsgd",
    "optdyn.reproduce.plrf",
    "optdyn.reproduce.plrf_phases",
    "optdyn.reproduce.muon",
    "optdyn.reproduce.muon_practical",
    "optdyn.reproduce.muon_phases_sim",
    "optdyn.reproduce.memory",
    "optdyn.reproduce.rmt",
    "optdyn.reproduce.momentum",
)


@dataclass(frozen=True)
class Figure:
    name: str
    description: str
    fn: Callable[[Path], list[Path]]


_REGISTRY: dict[str, Figure] = {}
_loaded = False


def figure(name: str, description: str) -> Callable:
    """Register ``fn(out: Path) -> list[Path]`` (the files written) as ``optdyn reproduce name``."""

    def deco(fn: Callable[[Path], list[Path]]) -> Callable[[Path], list[Path]]:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"figure {name!r} registered twice")
        _REGISTRY[name] = Figure(name, description, fn)
        return fn

    return deco


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    _loaded = True


def names() -> list[str]:
    """All registered figure names, sorted."""
    _load()
    return sorted(_REGISTRY)


def describe() -> dict[str, str]:
    """name -> one-line description of every registered figure."""
    _load()
    return {n: _REGISTRY[n].description for n in sorted(_REGISTRY)}


def run(name: str, out: Path | str, progress: bool = True) -> list[Path]:
    """Build figure ``name`` into folder ``out``; returns the files written. With ``progress``
    a line on stderr every 30 s says the figure is still being built (the engines inside report
    their own progress where they take long)."""
    _load()
    lookup(_REGISTRY, name, "name", "figure")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with heartbeat("reproduce", name, enabled=progress):
        files = _REGISTRY[name].fn(out)
    print(f"{name}: {len(files)} files in {out} ({time.perf_counter() - t0:.1f} s)")
    return files


def write_caption(out: Path, name: str, title: str, lines: list[str]) -> Path:
    """Write the caption file ``out/NAME.md``: a title and the settings and measurements."""
    path = Path(out) / f"{name}.md"
    path.write_text(f"# {title}\n\n" + "\n".join(lines).rstrip() + "\n")
    return path


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with OpenBLAS (the LAPACK behind JAX's CPU QR, SVD and eigh kernels, loaded
    through SciPy) limited to one thread; JAX keeps its own threads.

    Small dense algebra inside vmapped steps is much slower with OpenBLAS's own pool on top of
    XLA's: 15 vmapped 64 x 63 SVDs took 1.7 s on 2 cores, 9 ms with one OpenBLAS thread.
    No-op if threadpoolctl is missing.
    """
    try:
        import scipy.linalg  # noqa: F401  (loads SciPy's OpenBLAS, so that it can be limited)
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield
