"""The ``optdyn`` command line: ``optdyn run EXPERIMENT.toml``, ``optdyn demo``,
``optdyn reproduce NAME`` (``--list`` for the names), ``optdyn spectrum ACT N0 N1 M``
(conjugate-kernel spectra, see :mod:`optdyn.cli.spectrum`), ``optdyn phases`` (the SignSGD/SignSVD
phase diagram, see :mod:`optdyn.cli.phases`), ``optdyn sweep STUDY.toml`` (a study's grid, see
:mod:`optdyn.cli.sweep`), ``--version``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import resources
from pathlib import Path

from optdyn._version import __version__
from optdyn.cli.errors import guarded

__all__ = ["main"]


def _run_experiment(exp, out_dir: Path | None, progress: bool | None) -> int:
    from optdyn import io, plot, simulate, theory

    out = out_dir or exp.output_dir
    t0 = time.perf_counter()
    ds = th = None
    if exp.simulate:
        ds = simulate.run(exp.problem, exp.optimizers, exp.steps, seeds=exp.seeds,
                          dtype=exp.dtype, points_per_decade=exp.points_per_decade,
                          progress=progress)
        print(f"wrote {io.save(ds, out / 'dataset.nc')}")
    if exp.theory is not None:
        th = theory.run_available(exp.problem, exp.optimizers, exp.steps, exp.theory,
                                  points_per_decade=exp.points_per_decade,
                                  **exp.theory_options)
        print(f"wrote {io.save(th, out / 'theory.nc')} ({exp.theory} theory for "
              f"{sum(json.loads(th.attrs['has_theory']))} of {len(exp.optimizers)} configs)")
        for label, why in json.loads(th.attrs.get("no_theory", "{}")).items():
            print(f"  no theory for {label}: {why}")
    if ds is None:
        print(f"{len(exp.optimizers)} theory curves in {time.perf_counter() - t0:.1f} s")
        return 0
    if exp.figure:
        d = exp.problem.d
        title = f"{exp.name}: d = {d}, {ds.sizes['seed']} seeds, mean and 10-90% band"
        if th is not None:
            title += ", theory dashed"
        ax = plot.risk_curves(ds, title=title, theory=th)
        fig_path = plot.save_figure(ax, out / "risk.png")
        print(f"wrote {fig_path}")
    n_div = int(ds["diverged"].sum())
    print(f"{ds.sizes.get('config', 1)} configs x {ds.sizes['seed']} seeds x {exp.steps} steps "
          f"in {time.perf_counter() - t0:.1f} s; {n_div} run(s) diverged")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from optdyn import reproduce

    if args.list or not args.name:
        for name, desc in reproduce.describe().items():
            print(f"{name:28s} {desc}")
        return 0 if args.list else 2
    reproduce.run(args.name, args.out or Path("reproduce_output") / args.name)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``optdyn`` command."""
    parser = argparse.ArgumentParser(
        prog="optdyn", description="Exact high-dimensional dynamics of stochastic optimizers.")
    parser.add_argument("--version", action="version", version=f"optdyn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run an experiment TOML file, or rerun the spec "
                           "recorded in a .nc that optdyn wrote (dataset + figure)")
    p_run.add_argument("experiment", type=Path, help="EXPERIMENT.toml or RESULT.nc")
    p_run.add_argument("--out", type=Path, default=None, help="output folder (overrides the file)")
    p_run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p_demo = sub.add_parser("demo", help="run the headline demo")
    p_demo.add_argument("--out", type=Path, default=Path("demo_output"))
    p_demo.add_argument("--no-progress", action="store_true")
    p_rep = sub.add_parser("reproduce", help="rebuild a figure of the papers (PNG, data, caption)")
    p_rep.add_argument("name", nargs="?", help="figure name (see --list)")
    p_rep.add_argument("--list", action="store_true", help="list the figures and exit")
    p_rep.add_argument("--out", type=Path, default=None,
                       help="output folder (default: reproduce_output/NAME)")
    from optdyn.cli import spectrum as rmt_cli

    rmt_cli.add_parser(sub)
    from optdyn.cli import phases as phases_cli

    phases_cli.add_parser(sub)
    from optdyn.cli import sweep as sweep_cli

    sweep_cli.add_parser(sub)
    args = parser.parse_args(argv)
    handlers = {"run": _run, "demo": _demo, "reproduce": _reproduce,
                "spectrum": rmt_cli.main, "phases": phases_cli.main, "sweep": sweep_cli.main}
    return guarded(handlers[args.command], args)


def _run(args: argparse.Namespace) -> int:
    from optdyn.config import load_experiment

    exp = load_experiment(args.experiment)
    return _run_experiment(exp, args.out, False if args.no_progress else None)


def _demo(args: argparse.Namespace) -> int:
    from optdyn.config import load_experiment

    demo = resources.files("optdyn") / "data" / "demo.toml"
    with resources.as_file(demo) as path:
        exp = load_experiment(path)
    return _run_experiment(exp, args.out, False if args.no_progress else None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
