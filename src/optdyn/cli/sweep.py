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
from optdyn.cli.help import Parser

__all__ = ["add_parser", "main", "status_parser"]


class _Help(argparse.Action):
    """``-h``/``--help`` of ``optdyn sweep``: the help of ``optdyn sweep status`` after
    ``status``, else the sweep's own."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        target = getattr(namespace, "target", None) or []
        extra = getattr(parser, "extra_commands", {})
        (extra["status"] if target[:1] == ["status"] and "status" in extra else parser
         ).print_help()
        parser.exit()


def status_parser(prog: str = "optdyn sweep status") -> argparse.ArgumentParser:
    """The parser of ``optdyn sweep status STORE``."""
    status = Parser(
        prog=prog,
        description="Print the batches of a sweep's store as JSON: how many are done, failed "
                    "(with their errors) and missing, and the points done.",
        epilog="example:\n"
               "  optdyn sweep status runs/study/store")
    status.add_argument("store", type=Path, metavar="STORE",
                        help="the store folder of a sweep (the --store of 'optdyn sweep', by "
                             "default runs/NAME/store)")
    return status


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sweep`` subcommand (and ``sweep status``, parsed by :func:`main`)."""
    p = subparsers.add_parser(
        "sweep", help="run a study's grid (local processes or Dask; cached, resumable)",
        add_help=False,
        description="Run every point of a study's grid (a study file with a [sweep] table). "
                    "The grid is cut into batches that run on local processes, a Dask cluster "
                    "or Slurm/PBS; the store folder keeps each finished batch, so --resume "
                    "computes only what is missing, and sweep.nc in the store holds the whole "
                    "grid at the end.\n\n"
                    "'optdyn sweep status STORE' prints the batches of a store: done, failed "
                    "and missing ('optdyn sweep status --help').",
        epilog="examples:\n"
               "  optdyn sweep study.toml                       store: runs/study/store\n"
               "  optdyn sweep study.toml --executor dask --workers 4\n"
               "  optdyn sweep study.toml --resume              finish an interrupted sweep\n"
               "  optdyn sweep status runs/study/store")
    p.add_argument("-h", "--help", action=_Help, nargs=0,
                   help="show this help message and exit")
    p.add_argument("target", nargs="+", metavar="STUDY",
                   help="the study file (.toml, or a .nc optdyn wrote); or 'status STORE'")
    p.add_argument("--store", type=Path, default=None, metavar="DIR",
                   help="store folder (default: OUT/store, where OUT is the study's "
                        "[output] dir, else runs/NAME with NAME its name field or file stem)")
    p.add_argument("--executor", default="local",
                   choices=("local", "inline", "dask", "slurm", "pbs"),
                   help="where batches run: local processes, inline (this process), dask (a "
                        "cluster, see --address), or slurm/pbs jobs through dask-jobqueue")
    p.add_argument("--address", default=None,
                   help="a Dask scheduler address (default with --executor dask: a "
                        "LocalCluster started for the sweep)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes or jobs (default: the number of CPUs for local, 2 "
                        "for a Dask LocalCluster, 1 for slurm/pbs)")
    p.add_argument("--resume", action="store_true",
                   help="finish a store that holds this study (finished batches are kept)")
    p.add_argument("--points-per-batch", type=int, default=16, metavar="N",
                   help="grid points per batch")
    p.add_argument("--retries", type=int, default=1, metavar="N",
                   help="times a failing batch is tried again")
    p.add_argument("--yes", action="store_true",
                   help="accept a grid of more than 10^6 points")
    p.add_argument("--no-progress", action="store_true", help="hide the progress display")
    extra = getattr(p, "extra_commands", None)
    if extra is not None:
        extra["status"] = status_parser(f"{p.prog} status")
    return p


def main(args: argparse.Namespace) -> int:
    """Run the ``sweep`` subcommand."""
    from optdyn import io, sweep
    from optdyn.config import named_after_file

    if args.target[0] == "status":
        status = status_parser().parse_args(args.target[1:])
        print(json.dumps(sweep.status(status.store), indent=1))
        return 0
    if len(args.target) != 1:
        raise ConfigError("target", f"give one study file, got {len(args.target)} arguments "
                          f"({' '.join(args.target)}); 'optdyn sweep status STORE' counts "
                          "the batches of a store")
    study = sweep.as_study(args.target[0], max_points=None if args.yes else 1_000_000)
    study = named_after_file(study, args.target[0])
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

