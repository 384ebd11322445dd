"""``optdyn sweep STUDY.toml``: run a study's grid; ``optdyn sweep status STORE``: its counts.

The grid is cut into batches that run on local processes (default), a Dask cluster
(``--executor dask``, a LocalCluster or ``--address``) or Slurm/PBS through dask-jobqueue; the
store (``--store``, default ``runs/NAME/store``) keeps each finished batch, so ``--resume``
computes only what is missing. At the end ``sweep.nc`` in the store holds the whole grid.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from optdyn._core.errors import ConfigError

__all__ = ["add_parser", "main"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sweep`` subcommand."""
    p = subparsers.add_parser(
        "sweep", help="run a study's grid (local processes or Dask; cached, resumable)",
        description="Run a study's grid (optdyn sweep STUDY.toml) or count a store's batches "
                    "(optdyn sweep status STORE).",
        epilog="`optdyn sweep status STORE` prints the batches done, failed and missing.")
    p.add_argument("target", nargs="+", metavar="STUDY",
                   help="the study file (.toml, or a .nc optdyn wrote), or `status STORE`")
    p.add_argument("--store", type=Path, default=None,
                   help="store folder (default: the study's output.dir or runs/NAME, + /store)")
    p.add_argument("--executor", default="local",
                   choices=("local", "inline", "dask", "slurm", "pbs"),
                   help="where batches run (default: local processes)")
    p.add_argument("--address", default=None,
                   help="a Dask scheduler address (default with --executor dask: a "
                        "LocalCluster started for the sweep)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the CPUs; 2 for a Dask LocalCluster)")
    p.add_argument("--resume", action="store_true",
                   help="finish a store that holds this study (finished batches are kept)")
    p.add_argument("--points-per-batch", type=int, default=16,
                   help="grid points per batch (default 16)")
    p.add_argument("--retries", type=int, default=1,
                   help="times a failing batch is tried again (default 1)")
    p.add_argument("--yes", action="store_true",
                   help="accept a grid of more than 10^6 points")
    p.add_argument("--no-progress", action="store_true", help="hide the progress display")
    return p


def main(args: argparse.Namespace) -> int:
    """Run the ``sweep`` subcommand."""
    from optdyn import io, sweep

    if args.target[0] == "status":
        if len(args.target) != 2:
            raise ConfigError("status", "usage: optdyn sweep status STORE")
        print(json.dumps(sweep.status(args.target[1]), indent=1))
        return 0
    if len(args.target) != 1:
        raise ConfigError("target", "give one study file (or `status STORE`)")
    study = sweep.as_study(args.target[0], max_points=None if args.yes else 1_000_000)
    store = args.store or Path(study.output.get("dir", f"runs/{study.name}")) / "store"
    print(f"{study.name}: {study.grid.size} points {study.grid.shape} -> {store}", flush=True)
    ds = sweep.run(study, store, executor=args.executor, address=args.address,
                   workers=args.workers, resume=args.resume,
                   points_per_batch=args.points_per_batch, retries=args.retries,
                   progress=False if args.no_progress else None, confirm=args.yes)
    status = sweep.status(store)
    print(f"wrote {io.save(ds, Path(store) / 'sweep.nc')}")
    print(f"{status['done']} of {status['batches']} batches done, {status['failed']} failed")
    for h, err in status["errors"].items():
        print(f"  failed {h}: {err}")
    return 0 if not status["failed"] else 1
