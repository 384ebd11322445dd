"""The command line's one error path: bad input exits with status 2 and the field on stderr;
warnings are one line each.

``guarded(handler, args)`` prints ``optdyn: error: FIELD: message`` for a
:class:`~optdyn._core.errors.ConfigError`; ``one_line_warnings()`` prints each warning raised
while a command runs as ``optdyn: warning: message`` (no file, line or source echo, a repeated
warning once), for the duration of the command only.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import TextIO

from optdyn._core.errors import ConfigError

__all__ = ["guarded", "one_line_warnings"]


def guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand handler; a :class:`ConfigError` prints ``optdyn: error: FIELD: message``
    to stderr and returns 2 (the usage-error status of argparse), anything else propagates."""
    try:
        return handler(args)
    except ConfigError as e:
        print(f"optdyn: error: {e}", file=sys.stderr)
        return 2


@contextlib.contextmanager
def one_line_warnings(file: TextIO | None = None) -> Iterator[None]:
    """Within the block, a warning prints as the one line ``optdyn: warning: <message>`` on
    ``file`` (default: stderr at the time of the warning), without the file, line and source
    that Python shows; an identical message prints once. ``warnings.showwarning`` is restored
    on exit, so library users keep Python's warnings."""
    seen: set[str] = set()
    previous = warnings.showwarning

    def showwarning(message: Warning | str, category: type[Warning], filename: str,
                    lineno: int, file_: TextIO | None = None, line: str | None = None) -> None:
        text = " ".join(str(message).split())
        if text in seen:
            return
        seen.add(text)
        with contextlib.suppress(OSError, ValueError):  # a closed stream
            print(f"optdyn: warning: {text}", file=file or file_ or sys.stderr)

    warnings.showwarning = showwarning
    try:
        yield
    finally:
        warnings.showwarning = previous
