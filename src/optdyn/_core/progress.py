"""Progress of long work, one mechanism for every engine: a bar on a terminal, lines elsewhere.

On a terminal (stderr is a tty) the work shows as a rich bar per task, when it is long or when
asked. Anywhere else (a notebook, a log file, CI) it shows as one line on stderr every
``every_s`` seconds, ``NAME: TASK 1200/5000 steps (24%), 12 s, about 38 s left``, and a last line
when a task that printed one finishes; work that ends within ``every_s`` prints nothing.
``enabled=False`` hides both. Work whose steps are not counted (a whole figure) reports through
:func:`heartbeat`: a line every ``every_s`` seconds while it runs.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["Progress", "heartbeat"]


class Progress:
    """``with Progress("simulate", long=True) as p: key = p.task("SGD", 5000); p.update(key, k)``.

    Args:
        name: what is running (the prefix of the lines).
        enabled: True shows progress (a bar on a terminal), False hides it, None (default) shows
            a bar only for ``long`` work on a terminal and lines elsewhere.
        long: whether the caller expects the work to take long (decides the bar for None).
        unit: what ``total`` counts ("steps", "batches", ...).
        every_s: seconds between lines off a terminal.
        final: off a terminal, always print a task's last line (a sweep's summary).
    """

    def __init__(self, name: str, enabled: bool | None = None, *, long: bool = True,
                 unit: str = "steps", every_s: float = 10.0, final: bool = False) -> None:
        tty = sys.stderr.isatty()
        if enabled is False:
            self.mode = None
        elif tty:
            self.mode = "bar" if (enabled or long) else None
        else:
            self.mode = "lines"
        self.name, self.unit, self.every_s, self.final = name, unit, every_s, final
        self._tasks: dict[int, dict[str, Any]] = {}
        self._bar: Any = None

    def __enter__(self) -> Progress:
        if self.mode == "bar":
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     TimeRemainingColumn(), transient=False)
            self._bar.start()
        return self

    def task(self, label: str, total: int, completed: int = 0) -> int:
        """Start a task of ``total`` units (``completed`` of them done already); its key."""
        key = len(self._tasks)
        now = time.perf_counter()
        self._tasks[key] = {"label": label, "total": max(int(total), 1), "start": completed,
                            "done": completed, "t0": now, "last": now, "printed": False}
        if self._bar is not None:
            self._tasks[key]["bar"] = self._bar.add_task(label, total=max(int(total), 1),
                                                         completed=completed)
        return key

    def update(self, key: int, completed: int, label: str | None = None) -> None:
        """Set a task's units done (and optionally its label)."""
        t = self._tasks[key]
        t["done"] = int(completed)
        if label is not None:
            t["label"] = label
        if self._bar is not None:
            self._bar.update(t["bar"], completed=t["done"], description=t["label"])
        elif self.mode == "lines":
            now = time.perf_counter()
            finished = t["done"] >= t["total"]
            if now - t["last"] >= self.every_s or (finished and (t["printed"] or self.final)):
                t["last"], t["printed"] = now, True
                print(f"{self.name}: {self._line(t, now)}", file=sys.stderr, flush=True)

    def _line(self, t: dict[str, Any], now: float) -> str:
        done, total, elapsed = t["done"], t["total"], now - t["t0"]
        text = (f"{t['label']} {done}/{total} {self.unit} ({100 * done / total:.0f}%), "
                f"{elapsed:.0f} s")
        rate = (done - t["start"]) / elapsed if elapsed > 0 else 0.0
        if 0 < done < total and rate > 0:
            text += f", about {(total - done) / rate:.0f} s left"
        return text

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextlib.contextmanager
def heartbeat(name: str, label: str, enabled: bool = True, every_s: float = 30.0
              ) -> Iterator[None]:
    """While the block runs, print ``NAME: LABEL running, 60 s`` on stderr every ``every_s``
    seconds (a daemon thread; nothing for work shorter than ``every_s``)."""
    stop = threading.Event()
    t0 = time.perf_counter()

    def beat() -> None:
        while not stop.wait(every_s):
            print(f"{name}: {label} running, {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    if enabled:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if enabled:
            thread.join()
