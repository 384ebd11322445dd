"""The ``optdyn`` command line: ``optdyn run EXPERIMENT.toml``, ``optdyn demo``,
``optdyn reproduce NAME`` (``--list`` for the names), ``optdyn spectrum ACT N0 N1 M``
(conjugate-kernel spectra, see :mod:`optdyn.cli.spectrum`), ``optdyn phases`` (the SignSGD/SignSVD
phase diagram, see :mod:`optdyn.cli.phases`), ``optdyn scaling`` (compute-optimal exponents on
PLRF, see :mod:`optdyn.cli.scaling`), ``optdyn sweep STUDY.toml`` (a study's grid, see
:mod:`optdyn.cli.sweep`), ``optdyn explore`` (the live explorer, see
:mod:`optdyn.cli.explore`), ``optdyn cache``, ``--version``.

:func:`build_parser` builds every subcommand's parser (help texts and defaults in
:mod:`optdyn.cli.help`); :func:`main` runs one, with bad input on the one error path and warnings
one line each (:mod:`optdyn.cli.errors`). The help shown to users is written here and in each
subcommand's ``add_parser``, in plain text; these docstrings are for the code's readers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import resources
from pathlib import Path

from optdyn._core.errors import ConfigError
from optdyn._version import __version__
from optdyn.cli.errors import guarded, one_line_warnings
from optdyn.cli.help import Parser

__all__ = ["build_parser", "main"]


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
                                  warn=False, **exp.theory_options)
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
        if args.list:
            return 0
        raise ConfigError("name", "give the name of a figure to rebuild (one of those listed "
                          "above), e.g. 'optdyn reproduce signsgd-risk'")
    reproduce.run(args.name, args.out or Path("reproduce_output") / args.name)
    return 0


def build_parser() -> Parser:
    """The parser of the ``optdyn`` command and all its subcommands."""
    parser = Parser(
        prog="optdyn",
        description="Exact high-dimensional dynamics of stochastic optimizers: simulations, "
                    "theory curves and the figures of the papers, from the shell.",
        epilog="examples:\n"
               "  optdyn demo                      the headline demo -> demo_output/\n"
               "  optdyn run experiment.toml       an experiment file -> runs/experiment/\n"
               "  optdyn sweep study.toml          a study's grid, resumable\n"
               "  optdyn reproduce --list          the figures of the papers\n\n"
               "Run 'optdyn COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"optdyn {__version__}",
                        help="print the version of optdyn and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_run = sub.add_parser(
        "run", help="run an experiment TOML file, or rerun the spec recorded in a .nc that "
                    "optdyn wrote (dataset + figure)",
        description="Run an experiment file: simulate its optimizers on its problem, compute "
                    "the theory curves when it asks for them (theory = true), and write "
                    "dataset.nc, theory.nc and risk.png. A .nc result written by optdyn runs "
                    "again from the spec it records.\n\n"
                    "The output folder is the file's [output] dir, else runs/NAME/, where NAME "
                    "is the file's name field, else the file's name without its extension.",
        epilog="examples:\n"
               "  optdyn run experiment.toml                 writes runs/experiment/\n"
               "  optdyn run experiment.toml --out results   writes results/\n"
               "  optdyn run runs/experiment/dataset.nc --out rerun\n"
               "                                             computes that result again")
    p_run.add_argument("experiment", type=Path, metavar="FILE",
                       help="an experiment file (EXPERIMENT.toml) or a result optdyn wrote "
                            "(RESULT.nc)")
    p_run.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="output folder (default: the file's [output] dir, else "
                            "runs/NAME/ with NAME the file's name field or file stem)")
    p_run.add_argument("--no-progress", action="store_true",
                       help="hide the progress bar")
    p_run.set_defaults(handler=_run)
    p_demo = sub.add_parser(
        "demo", help="run the headline demo",
        description="Run the headline demo: SGD, clipped SGD, signSGD and Adam on a rotated "
                    "power-law covariance with heavy-tailed (Student-t) label noise, simulated "
                    "with 8 seeds, with the theory curves dashed over the bands. Writes "
                    "dataset.nc, theory.nc and risk.png.",
        epilog="example:\n"
               "  optdyn demo --out demo_output")
    p_demo.add_argument("--out", type=Path, default=Path("demo_output"), metavar="DIR",
                        help="output folder")
    p_demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p_demo.set_defaults(handler=_demo)
    p_rep = sub.add_parser(
        "reproduce", help="rebuild a figure of the papers (PNG, data, caption)",
        description="Rebuild a figure of the papers: its PNG, the data behind it and a "
                    "caption. 'optdyn reproduce --list' names the figures.",
        epilog="examples:\n"
               "  optdyn reproduce --list\n"
               "  optdyn reproduce signsgd-risk --out figures/signsgd-risk")
    p_rep.add_argument("name", nargs="?", metavar="NAME",
                       help="the figure to rebuild (see --list)")
    p_rep.add_argument("--list", action="store_true",
                       help="list the figures with a line on each and exit")
    p_rep.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="output folder (default: reproduce_output/NAME)")
    p_rep.set_defaults(handler=_reproduce)
    from optdyn.cli import spectrum as rmt_cli

    rmt_cli.add_parser(sub).set_defaults(handler=rmt_cli.main)
    from optdyn.cli import phases as phases_cli

    phases_cli.add_parser(sub).set_defaults(handler=phases_cli.main)
    from optdyn.cli import scaling as scaling_cli

    scaling_cli.add_parser(sub).set_defaults(handler=scaling_cli.main)
    from optdyn.cli import sweep as sweep_cli

    sweep_cli.add_parser(sub).set_defaults(handler=sweep_cli.main)
    from optdyn.cli import cache as cache_cli

    cache_cli.add_parser(sub).set_defaults(handler=cache_cli.main)
    from optdyn.cli import explore as explore_cli

    explore_cli.add_parser(sub).set_defaults(handler=explore_cli.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``optdyn`` command: the exit status (2 on bad input).

    While it runs, warnings print as one line each (``optdyn: warning: ...``); Python's own
    warning display is restored when it returns.
    """
    with one_line_warnings():
        args = build_parser().parse_args(argv)
        return guarded(args.handler, args)


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
