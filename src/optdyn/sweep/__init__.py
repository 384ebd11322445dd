"""Sweeps: a study's grid cut into batches, run on local processes or a Dask cluster, kept in a
content-addressed store that resumes.

``optdyn.sweep.run(study, store, executor="local" | "dask" | ..., resume=...)`` runs a study
(:mod:`optdyn.study`) and returns its store as one ``xarray.Dataset``; ``optdyn.sweep.open``
reads a store, ``optdyn.sweep.status`` counts its batches. See :mod:`.driver`, :mod:`.store`,
:mod:`.executors` and ``docs/sweeps.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

from optdyn.sweep.batch import run_batch
from optdyn.sweep.driver import as_study, run
from optdyn.sweep.executors import executor
from optdyn.sweep.plan import Batch, plan
from optdyn.sweep.store import Store

__all__ = ["Batch", "Store", "as_study", "executor", "open", "plan", "run", "run_batch",
           "status"]


def open(store: str | Path) -> xr.Dataset:  # noqa: A001 (the store's name for it)
    """The finished batches of a store as one Dataset (swept fields as dimensions)."""
    return Store(store).dataset()


def status(store: str | Path) -> dict[str, Any]:
    """Batches and points of a store: total, done, failed (with their errors), missing."""
    return Store(store).status()
