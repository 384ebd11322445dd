"""The command line's one error path: bad input exits with status 2 and the field on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from optdyn._core.errors import ConfigError

__all__ = ["guarded"]


def guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand handler; a :class:`ConfigError` prints ``optdyn: error: FIELD: message``
    to stderr and returns 2 (the usage-error status of argparse), anything else propagates."""
    try:
        return handler(args)
    except ConfigError as e:
        print(f"optdyn: error: {e}", file=sys.stderr)
        return 2
