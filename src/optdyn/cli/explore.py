"""``optdyn explore [--port N] [--no-browser] [--host H] [--out DIR]``: the live explorer
(:mod:`optdyn.explore`), a local page where theory curves follow the sliders."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "main"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``explore`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "explore", help="open the live explorer: theory curves that follow the sliders",
        description="Start a local web page where the exact risk curves of SGD, signSGD, "
                    "clipped SGD and the others follow sliders for the problem (d, spectrum, "
                    "target exponent, noise) and each optimizer's hyperparameters. 'Simulate' "
                    "draws a few seeds' bands under the theory; 'Save' writes the view as an "
                    "experiment file that 'optdyn run' reruns, and the figure as PNG. Needs "
                    "the explore extra: pip install 'optdyn[explore]'.",
        epilog="examples:\n"
               "  optdyn explore                       opens http://127.0.0.1:8765/\n"
               "  optdyn explore --port 9000 --no-browser")
    p.add_argument("--port", type=int, default=8765, metavar="N",
                   help="port to listen on (default: 8765)")
    p.add_argument("--host", default="127.0.0.1", metavar="H",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--out", type=Path, default=Path("explore_output"), metavar="DIR",
                   help="folder of saved views (default: explore_output)")
    return p


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from optdyn._core.errors import ConfigError
    from optdyn.explore import serve

    if not 0 < args.port < 65536:
        raise ConfigError("port", f"must lie in 1..65535, got {args.port}")
    try:
        serve(host=args.host, port=args.port, open_browser=not args.no_browser,
              out_dir=args.out)
    except KeyboardInterrupt:
        pass
    return 0
