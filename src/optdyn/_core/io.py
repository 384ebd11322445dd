"""Saving and loading results as netCDF (never pickles)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import xarray as xr

__all__ = ["save", "load"]


def _local_locks() -> contextlib.AbstractContextManager:
    """xarray takes its file locks from the active dask scheduler: with a distributed client
    open in the process, every write would wait on the scheduler's semaphores (dozens of round
    trips per file). optdyn's results are in memory, so their files use local locks."""
    dask = sys.modules.get("dask")
    if dask is None:
        return contextlib.nullcontext()
    return dask.config.set(scheduler="synchronous")


def save(ds: xr.Dataset, path: str | os.PathLike, *, small: bool = False) -> Path:
    """Write a result to a netCDF-4 file (h5netcdf engine); creates parent folders.

    The write goes to a temporary file that is renamed at the end, so an interrupted save never
    leaves a truncated file under ``path``. ``small=True`` writes netCDF-3 instead (SciPy's
    writer: about 20x faster for the few-kB files of a sweep's batches, integers as int32).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if small:
        ds = ds.copy()
        for name, var in ds.variables.items():
            if var.dtype == "int64":
                ds[name] = var.astype("int32")
    with _local_locks():
        ds.to_netcdf(tmp, engine="scipy" if small else "h5netcdf")
    os.replace(tmp, path)
    return path


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read a result written by :func:`save` into memory (either format)."""
    path = Path(path)
    with open(path, "rb") as f:
        netcdf3 = f.read(3) == b"CDF"
    with _local_locks():
        return xr.load_dataset(path, engine="scipy" if netcdf3 else "h5netcdf")
