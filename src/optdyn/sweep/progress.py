"""Progress of a sweep over its batches: a bar on a terminal, periodic lines elsewhere.

Both show the batches done, cached (found in the store) and failed, the rate and the time left.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["BatchProgress"]


class BatchProgress:
    """``with BatchProgress(total, cached, enabled) as bar: bar.update(done=1)``."""

    def __init__(self, total: int, cached: int, enabled: bool | None = None,
                 every_s: float = 30.0) -> None:
        self.total, self.cached, self.done, self.failed = total, cached, 0, 0
        self.tty = sys.stderr.isatty() if enabled is None else enabled
        self.lines = enabled is None and not self.tty
        self.every_s, self._last, self._t0 = every_s, 0.0, time.perf_counter()
        self._bar: Any = None

    def _text(self) -> str:
        return (f"{self.done + self.cached}/{self.total} batches (done {self.done}, cached "
                f"{self.cached}, failed {self.failed})")

    def __enter__(self) -> BatchProgress:
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                                 TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self._text(), total=self.total,
                                            completed=self.cached, rate="")
        return self

    def update(self, done: int = 0, failed: int = 0) -> None:
        """Count finished (or failed) batches."""
        self.done += done
        self.failed += failed
        elapsed = time.perf_counter() - self._t0
        rate = (self.done + self.failed) / elapsed if elapsed > 0 else 0.0
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done + self.cached + self.failed,
                             description=self._text(), rate=f"{rate:.2f} batch/s")
        elif self.lines and (time.perf_counter() - self._last > self.every_s or
                             self.done + self.cached + self.failed == self.total):
            self._last = time.perf_counter()
            left = self.total - self.done - self.cached - self.failed
            eta = f", about {left / rate:.0f} s left" if rate > 0 and left else ""
            print(f"sweep: {self._text()}, {rate:.2f} batch/s{eta}", file=sys.stderr,
                  flush=True)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
