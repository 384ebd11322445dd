"""Cutting a grid into batches: points that share their problem and run settings, in chunks.

A batch is content-addressed by the hash of its canonical spec (its point specs and numbers) and
the optdyn version, so a store recognises the batches it already holds whatever process asks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from optdyn._core.errors import ConfigError
from optdyn._core.spec import canonical_json, spec_hash
from optdyn._version import __version__
from optdyn.study import Study

__all__ = ["Batch", "plan"]


@dataclasses.dataclass(frozen=True)
class Batch:
    """Point numbers of one batch, their specs and the batch's content address."""

    points: tuple[int, ...]
    specs: tuple[dict[str, Any], ...]
    hash: str

    def task(self) -> dict[str, Any]:
        """What :func:`optdyn.sweep.batch.run_batch` receives."""
        return {"points": list(self.points), "specs": list(self.specs)}


def plan(study: Study, points_per_batch: int = 16) -> list[Batch]:
    """The batches of a study: points grouped by everything but their optimizers' settings (one
    problem and one number of optimizers per batch), in grid order, at most
    ``points_per_batch`` points each."""
    if isinstance(points_per_batch, bool) or not isinstance(points_per_batch, int) or \
            points_per_batch < 1:
        raise ConfigError("points_per_batch", f"must be a positive integer, got "
                          f"{points_per_batch!r}")
    groups: dict[str, list[tuple[int, dict]]] = {}
    for p in range(study.grid.size):
        spec = study.point_spec(p)
        key = canonical_json({**{k: v for k, v in spec.items() if k != "optimizer"},
                              "n_optimizers": len(spec["optimizer"])})
        groups.setdefault(key, []).append((p, spec))
    out = []
    for members in groups.values():
        for lo in range(0, len(members), points_per_batch):
            chunk = members[lo:lo + points_per_batch]
            points = tuple(p for p, _ in chunk)
            specs = tuple(s for _, s in chunk)
            out.append(Batch(points, specs, spec_hash({"points": list(points),
                                                       "specs": list(specs)}, __version__)))
    return out
