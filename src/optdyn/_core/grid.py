"""Geometric checkpoint grids for log-log risk curves."""

from __future__ import annotations

import math

import numpy as np

from optdyn._core.errors import ConfigError

__all__ = ["checkpoint_steps"]


def checkpoint_steps(steps: int, points_per_decade: int = 10) -> np.ndarray:
    """Steps at which the risk is recorded: 0, ~``points_per_decade`` per decade, and ``steps``.

    The grid is round(10^(i / points_per_decade)) for i = 0, 1, ..., deduplicated, so the first
    decade holds every integer that the geometric spacing reaches.
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ConfigError("steps", f"must be a positive integer, got {steps!r}")
    if isinstance(points_per_decade, bool) or not isinstance(points_per_decade, int) or (
        points_per_decade < 1
    ):
        raise ConfigError(
            "points_per_decade", f"must be a positive integer, got {points_per_decade!r}"
        )
    n = int(math.ceil(points_per_decade * math.log10(steps))) + 1
    grid = np.round(np.logspace(0.0, n / points_per_decade, n + 1)).astype(np.int64)
    grid = grid[grid <= steps]
    return np.unique(np.concatenate([[0], grid, [int(steps)]]))
