"""Saving and loading results as netCDF (never pickles)."""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

__all__ = ["save", "load"]


def save(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a result to a netCDF-4 file (h5netcdf engine); creates parent folders.

    The write goes to a temporary file that is renamed at the end, so an interrupted save never
    leaves a truncated file under ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)
    return path


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read a result written by :func:`save` into memory."""
    return xr.load_dataset(Path(path), engine="h5netcdf")
