"""Grids over any field of a study: products, zipped lists and explicit cases.

Written in TOML as the ``[sweep]`` table of a study (or the same plain dict in Python)::

    [sweep]
    "optimizer.lr" = [0.01, 0.02, 0.04]          # each plain key is one dimension (product)
    "problem.eigenvalues.alpha" = [0.5, 1.0]
    zip = { "optimizer.lr" = [0.1, 0.2], "optimizer.batch_size" = [1, 4] }   # one dimension
    cases = [ { "problem.m" = 8, "steps" = 100 }, { "problem.m" = 16, "steps" = 200 } ]  # "case"

A field path names a key of the study (``steps``), of its problem (``problem.sigma``), of every
optimizer table (``optimizer.lr``) or of one (``optimizer[1].lr``), at any depth
(``problem.eigenvalues.alpha``). ``zip`` may also be a list of such tables (one dimension each,
named by its first key). The dimensions are ordered plain keys first (as written), then the
zipped groups, then ``cases``; the grid's points are their product, numbered in C order; its size
is known without enumerating it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError

__all__ = ["Dimension", "Grid", "grid_from_spec"]

RESERVED = ("zip", "cases")


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One axis of a grid: its name, the fields it sets and their values along it."""

    name: str
    fields: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]  # values[j][i]: field j at index i

    @property
    def size(self) -> int:
        """Number of points along the axis."""
        return len(self.values[0])

    def coordinate(self, j: int = 0) -> np.ndarray:
        """Field ``j``'s values as a coordinate (tables and lists as JSON text)."""
        vals = [v if isinstance(v, bool | int | float | str) else json.dumps(v, sort_keys=True)
                for v in self.values[j]]
        return np.asarray(vals, dtype=object if any(isinstance(v, str) for v in vals) else None)


@dataclasses.dataclass(frozen=True)
class Grid:
    """The points of a sweep: the product of its dimensions (an empty grid has one point)."""

    dims: tuple[Dimension, ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        """Points along each dimension."""
        return tuple(d.size for d in self.dims)

    @property
    def size(self) -> int:
        """Number of points."""
        return math.prod(self.shape)

    @property
    def fields(self) -> list[str]:
        """Every field the grid sets."""
        return [f for d in self.dims for f in d.fields]

    def assignment(self, point: int) -> dict[str, Any]:
        """The field values of point number ``point`` (C order over the dimensions)."""
        idx = np.unravel_index(point, self.shape) if self.dims else ()
        out: dict[str, Any] = {}
        for dim, i in zip(self.dims, idx, strict=True):
            for f, vals in zip(dim.fields, dim.values, strict=True):
                out[f] = vals[int(i)]
        return out

    def to_spec(self) -> dict[str, Any]:
        """The ``[sweep]`` table this grid was read from."""
        out: dict[str, Any] = {}
        zips, cases = [], None
        for d in self.dims:
            if d.name == "case":
                cases = [{f: d.values[j][i] for j, f in enumerate(d.fields)}
                         for i in range(d.size)]
            elif len(d.fields) > 1:
                zips.append({f: list(v) for f, v in zip(d.fields, d.values, strict=True)})
            else:
                out[d.name] = list(d.values[0])
        if zips:
            out["zip"] = zips
        if cases is not None:
            out["cases"] = cases
        return out


def _values(field: str, vals: Any) -> tuple[Any, ...]:
    if not isinstance(vals, list | tuple):
        raise ConfigError(field, f"expected a list of values, got {vals!r}")
    if not vals:
        raise ConfigError(field, "is an empty list: a sweep dimension needs at least one value")
    return tuple(vals)


def grid_from_spec(table: Any, field: str = "sweep") -> Grid:
    """The grid of a ``[sweep]`` table (see the module docstring)."""
    if table is None:
        return Grid()
    if not isinstance(table, Mapping):
        raise ConfigError(field, "expected a table of field = [values]")
    dims: list[Dimension] = []
    later: list[Dimension] = []
    seen: set[str] = set()

    def add(dim: Dimension, out: list[Dimension] | None = None) -> None:
        if dim.name != "case":
            first = dim.coordinate(0).tolist()
            if len(set(first)) != len(first):
                raise ConfigError(f"{field}.{dim.fields[0]}", "repeats a value; the values "
                                  "along a dimension (the first list of a zip) must differ")
        for f in dim.fields:
            if f in seen:
                raise ConfigError(f"{field}.{f}", "is swept twice")
            seen.add(f)
        (dims if out is None else out).append(dim)

    for key, vals in table.items():
        if key == "zip":
            groups = vals if isinstance(vals, list) else [vals]
            for g, group in enumerate(groups):
                where = f"{field}.zip" + (f"[{g}]" if isinstance(vals, list) else "")
                if not isinstance(group, Mapping) or not group:
                    raise ConfigError(where, "expected a table of field = [values]")
                cols = {f: _values(f"{where}.{f}", v) for f, v in group.items()}
                lengths = {f: len(v) for f, v in cols.items()}
                if len(set(lengths.values())) != 1:
                    raise ConfigError(where, f"zipped lists differ in length: {lengths}")
                add(Dimension(next(iter(cols)), tuple(cols), tuple(cols.values())), later)
        elif key == "cases":
            if not isinstance(vals, list) or not vals:
                raise ConfigError(f"{field}.cases", "expected a non-empty list of tables")
            keys = list(vals[0]) if isinstance(vals[0], Mapping) else None
            for i, case in enumerate(vals):
                if not isinstance(case, Mapping) or list(case) != keys or not keys:
                    raise ConfigError(f"{field}.cases[{i}]", f"every case must set the same "
                                      f"fields, in the same order ({keys})")
            cases = Dimension("case", tuple(keys), tuple(tuple(c[k] for c in vals) for k in keys))
        else:
            add(Dimension(str(key), (str(key),), (_values(f"{field}.{key}", vals),)))
    if "cases" in table:
        add(cases, later)
    return Grid(tuple(dims + later))
