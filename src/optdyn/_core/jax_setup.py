"""Process settings optdyn makes at import: float64 support, the persistent compilation cache,
and a fast interpreter exit.

The cache keeps XLA's compiled programs on disk, so a second process that runs the same
kind of curve (the same law, the same size bucket: :func:`optdyn.theory.integrator.bucket`)
loads its program instead of compiling it again (about 0.5 s per law on 2 CPU cores).

- Where: ``$OPTDYN_COMPILATION_CACHE`` if it names a folder, else
  ``$XDG_CACHE_HOME/optdyn/jax`` (``~/.cache/optdyn/jax``).
- Off: ``OPTDYN_COMPILATION_CACHE=off`` (or ``0``, ``false``, ``no``) before the import, or
  :func:`set_compilation_cache` ``(None)`` before the first computation. A folder set through
  JAX's own ``JAX_COMPILATION_CACHE_DIR`` or ``jax.config`` is left as the user set it.
- Shared by processes: the cache has a size cap (2 GiB, least recently used entries evicted),
  which makes JAX take a file lock around every read and write (``filelock``), so two
  processes never see half-written entries; an entry that fails to load is compiled again
  (JAX turns cache errors into warnings).

Fast exit: at interpreter exit Python's last garbage collection walks every object the
imported libraries made (JAX, xarray, pandas, SciPy): 0.3-0.45 s per process on 2 cores. An
``atexit`` hook freezes the heap (``gc.freeze``) just before, so that collection skips it;
memory goes back to the system with the process as always. Only the exit changes: objects
still alive in reference cycles at exit are not finalised (Python does not promise that
anyway). ``OPTDYN_FAST_EXIT=off`` keeps the default exit.
"""

from __future__ import annotations

import atexit
import gc
import os
from pathlib import Path

import jax

__all__ = ["configure", "set_compilation_cache", "compilation_cache_dir", "ENV", "EXIT_ENV"]

ENV = "OPTDYN_COMPILATION_CACHE"
EXIT_ENV = "OPTDYN_FAST_EXIT"
_OFF = {"0", "off", "false", "no", "none"}
_MAX_BYTES = 2 << 30
_MIN_COMPILE_S = 0.05  # programs that compile faster than this are not worth a file


def _default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "optdyn" / "jax"


def compilation_cache_dir() -> str | None:
    """The folder of the persistent compilation cache in use, or None when it is off."""
    return jax.config.jax_compilation_cache_dir


def set_compilation_cache(path: str | os.PathLike | None) -> None:
    """Put the persistent compilation cache in ``path``, or turn it off with None.

    Takes effect for programs compiled afterwards; call it before the first computation."""
    if path is None:
        jax.config.update("jax_enable_compilation_cache", False)
        jax.config.update("jax_compilation_cache_dir", None)
        return
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_COMPILE_S)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_compilation_cache_max_size", _MAX_BYTES)


def configure() -> None:
    """What ``import optdyn`` sets: float64 support, the fast exit, and the compilation cache
    unless the environment turns it off or the user already chose a folder for JAX."""
    jax.config.update("jax_enable_x64", True)
    if os.environ.get(EXIT_ENV, "").strip().lower() not in _OFF:
        atexit.register(gc.freeze)
    setting = os.environ.get(ENV, "").strip()
    if setting.lower() in _OFF:
        set_compilation_cache(None)
        return
    if jax.config.jax_compilation_cache_dir:
        return
    set_compilation_cache(setting if setting and setting.lower() not in {"1", "on", "true"}
                          else _default_dir())
