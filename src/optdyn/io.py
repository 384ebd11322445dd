"""Saving and loading result Datasets (atomic writes); see :mod:`optdyn._core.io`."""

from optdyn._core.io import load, save

__all__ = ["save", "load"]
