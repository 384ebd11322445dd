"""The configs of a figure: simulation and theory matched by label, in one order, with colours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from optdyn.plot import style

__all__ = ["Entry", "entries"]


@dataclass
class Entry:
    """One config of a figure: its name, colour, plot style and its simulation and theory parts
    (``None`` where that side has no such config, or its theory is missing or all NaN)."""

    name: str
    index: int
    style: dict[str, Any]
    sim: xr.Dataset | None = None
    theory: xr.Dataset | None = None
    in_theory: bool = False  # the theory lists this config, with or without a curve


def _split(ds: xr.Dataset) -> list[xr.Dataset]:
    if "config" in ds.dims:
        return [ds.isel(config=i) for i in range(ds.sizes["config"])]
    return [ds]


def _names(ds: xr.Dataset, n: int) -> list[str] | None:
    if "label" not in ds.coords:
        return None
    lab = np.atleast_1d(ds["label"].values)
    return [str(v) for v in lab] if lab.size == n else None


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
    return out


def _keys(sim: list | None, sim_ds: Any, th: list | None, th_ds: Any, var: str
          ) -> tuple[list[str], list[str]]:
    """Names of the simulation's and the theory's configs: their labels; a side without labels
    borrows the other's by position (same count), and neither side labelled gives positions."""
    ns = _names(sim_ds, len(sim)) if sim is not None else None
    nt = _names(th_ds, len(th)) if th is not None else None
    if sim is not None and th is not None and (ns is None) != (nt is None):
        if len(sim) != len(th):
            raise ValueError(f"cannot match configs: the {'theory' if nt is None else 'simulation'}"
                             f" has no label coordinate and simulation and theory have "
                             f"{len(sim)} and {len(th)} configs")
        ns, nt = ns or nt, nt or ns
    def default(n: int) -> list[str]:
        return [var] if n == 1 else [f"config {i}" for i in range(n)]
    return (_unique(ns or default(len(sim or []))), _unique(nt or default(len(th or []))))


def _has_curve(sub: xr.Dataset, var: str) -> bool:
    for flag in ("has_theory", "theory"):
        if flag in sub and sub[flag].dtype == bool and not bool(sub[flag].values):
            return False
    return bool(np.isfinite(np.asarray(sub[var].values, dtype=float)).any()
                or np.isinf(np.asarray(sub[var].values, dtype=float)).any())


def _merge(first: list[str], second: list[str]) -> list[str]:
    """``first`` with the names only in ``second`` inserted after their predecessor there."""
    out = list(first)
    prev = None
    for n in second:
        if n not in out:
            out.insert(out.index(prev) + 1 if prev is not None else 0, n)
        prev = n
    return out


def _pick(colors: Any, i: int, name: str) -> str | Any:
    if colors is None:
        return None
    if isinstance(colors, dict):
        return colors.get(name)
    return colors[i % len(colors)]


def entries(sim: xr.Dataset | None, theory: xr.Dataset | None, var: str,
            configs: Sequence[int | str] | None = None, colors: Any = None) -> list[Entry]:
    """The configs to draw, in the simulation's order with theory-only configs merged in.

    A config's colour and markers follow its position in that full list (so a subset drawn
    with ``configs`` keeps the colours of the full figure) unless ``colors`` (a list by
    position or a dict by label) gives one. ``configs`` selects by label or position."""
    s_parts = _split(sim) if sim is not None else None
    t_parts = _split(theory) if theory is not None else None
    s_names, t_names = _keys(s_parts, sim, t_parts, theory, var)
    order = _merge(s_names, t_names)
    out = []
    for i, name in enumerate(order):
        st = style.series(i)
        c = _pick(colors, i, name)
        if c is not None:
            st["color"] = c
        e = Entry(name, i, st)
        if name in s_names:
            e.sim = s_parts[s_names.index(name)]
        if name in t_names:
            e.in_theory = True
            sub = t_parts[t_names.index(name)]
            e.theory = sub if _has_curve(sub, var) else None
        out.append(e)
    if configs is None:
        return out
    chosen = []
    for c in configs:
        if isinstance(c, int | np.integer) and not isinstance(c, bool):
            if not -len(out) <= c < len(out):
                raise ValueError(f"config {c} out of range: the figure has {len(out)} configs")
            chosen.append(out[c])
        elif str(c) in order:
            chosen.append(out[order.index(str(c))])
        else:
            raise ValueError(f"no config labelled {c!r}; the configs are {order}")
    return chosen
