"""``optdyn cache [--clear]``: where the compiled and traced programs are kept, and how much.

The compilation cache and the kept programs (docs/speed.md) live under one folder
(``~/.cache/optdyn`` unless ``OPTDYN_COMPILATION_CACHE`` says otherwise); this command prints
both folders with their file counts and sizes, and ``--clear`` empties them.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "main"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``cache`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "cache", help="show (or clear) the folders of compiled and traced programs",
        description="Show the persistent compilation cache and the kept traced programs "
                    "that let a new process skip compiling and tracing (docs/speed.md): "
                    "their folders, file counts and sizes. OPTDYN_COMPILATION_CACHE=off turns "
                    "both off; =DIR moves them.",
        epilog="examples:\n"
               "  optdyn cache\n"
               "  optdyn cache --clear")
    p.add_argument("--clear", action="store_true", help="remove every kept program")
    return p


def _summary(folder: Path | None) -> str:
    if folder is None:
        return "off"
    files = [f for f in folder.rglob("*") if f.is_file()] if folder.exists() else []
    size = sum(f.stat().st_size for f in files)
    return f"{folder}  ({len(files)} files, {size / 2**20:.1f} MiB)"


def main(args: argparse.Namespace) -> int:
    """Print the two folders; with ``--clear``, empty them first."""
    from optdyn._core import jax_setup, programs

    cache = jax_setup.compilation_cache_dir()
    folders = {"compilation cache": Path(cache) if cache else None,
               "traced programs": programs.programs_dir()}
    if args.clear:
        for folder in folders.values():
            if folder is not None and folder.exists():
                shutil.rmtree(folder)
    for what, folder in folders.items():
        print(f"{what}: {_summary(folder)}")
    return 0
