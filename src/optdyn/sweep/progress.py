"""Progress of a sweep over its batches, on the one progress mechanism
(:mod:`optdyn._core.progress`): a bar on a terminal, a line every 30 s elsewhere, with the
batches done, cached (found in the store) and failed, and the time left.
"""

from __future__ import annotations

from typing import Any

from optdyn._core.progress import Progress

__all__ = ["BatchProgress"]


class BatchProgress:
    """``with BatchProgress(total, cached, enabled) as bar: bar.update(done=1)``."""

    def __init__(self, total: int, cached: int, enabled: bool | None = None,
                 every_s: float = 30.0) -> None:
        self.total, self.cached, self.done, self.failed = total, cached, 0, 0
        self._progress = Progress("sweep", enabled, unit="batches", every_s=every_s,
                                  final=True)

    def _text(self) -> str:
        return f"(done {self.done}, cached {self.cached}, failed {self.failed})"

    def __enter__(self) -> BatchProgress:
        self._progress.__enter__()
        self._task = self._progress.task(self._text(), self.total, completed=self.cached)
        return self

    def update(self, done: int = 0, failed: int = 0) -> None:
        """Count finished (or failed) batches."""
        self.done += done
        self.failed += failed
        self._progress.update(self._task, self.done + self.cached + self.failed, self._text())

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)
