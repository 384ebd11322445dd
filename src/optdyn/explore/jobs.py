"""Simulations in the background for the explorer: one seed at a time, so that the page sees
progress after every seed and a cancel takes effect at the next seed.

The seeds together are the same runs as ``simulate.run(problem, optimizers, steps,
seeds=range(n))``: each seed's samples depend on its seed value only.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import xarray as xr

from optdyn import simulate
from optdyn._core.errors import ConfigError
from optdyn.explore.curves import experiment, sim_payload
from optdyn.explore.view import LIMITS, work

__all__ = ["Job", "start", "get", "cancel"]

_log = logging.getLogger("optdyn.explore")
_JOBS: dict[str, Job] = {}
_KEEP = 8  # finished jobs kept for the page (and the figure of a saved view)


class Job:
    """A simulation of a checked view's optimizers over its seeds, in a thread."""

    def __init__(self, view: dict[str, Any]) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.view = view
        self.exp = experiment(view, simulate=True)
        self.total = int(view["seeds"])
        self.done = 0
        self.state = "running"  # running | done | cancelled | failed
        self.error: str | None = None
        self.result: xr.Dataset | None = None
        self.started = time.perf_counter()
        self.elapsed = 0.0
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"simulate-{self.id}",
                                        daemon=True)

    def _run(self) -> None:
        parts = []
        try:
            for seed in range(self.total):
                if self._cancel.is_set():
                    self.state = "cancelled"
                    break
                parts.append(simulate.run(self.exp.problem, self.exp.optimizers,
                                          self.exp.steps, seeds=[seed], dtype=self.exp.dtype,
                                          points_per_decade=self.exp.points_per_decade,
                                          progress=False))
                self.result = xr.concat(parts, dim="seed") if len(parts) > 1 else parts[0]
                self.done = seed + 1
            else:
                self.state = "done"
        except Exception as e:  # reported to the page in words; the trace goes to the log
            _log.exception("simulation %s failed", self.id)
            self.state = "failed"
            self.error = f"the simulation failed: {type(e).__name__}: {e}"
        self.elapsed = time.perf_counter() - self.started

    def cancel(self) -> None:
        """Stop after the seed that is running."""
        self._cancel.set()

    def status(self) -> dict[str, Any]:
        """The page's JSON: state, seeds done of the total, the bands of the seeds done."""
        out: dict[str, Any] = {"id": self.id, "state": self.state, "done": self.done,
                               "total": self.total, "error": self.error,
                               "elapsed_s": round(time.perf_counter() - self.started
                                                  if self.state == "running" else self.elapsed,
                                                  2)}
        if self.result is not None:
            out["configs"] = sim_payload(self.result)
        return out


def start(view: dict[str, Any]) -> Job:
    """Start simulating a checked view; refuses more work than :data:`LIMITS` allows."""
    w = work(view)
    if w > LIMITS["sim_work"]:
        raise ConfigError("seeds", f"this simulation is d x steps x batch x seeds = {w:.3g} "
                          f"sample coordinates, more than the explorer's bound "
                          f"{LIMITS['sim_work']:.3g}: lower d, steps, batch or seeds (or run "
                          "the saved view with 'optdyn run')")
    for old in [j for j in _JOBS.values() if j.state == "running"]:
        old.cancel()
    job = Job(view)
    _JOBS[job.id] = job
    while len(_JOBS) > _KEEP:
        _JOBS.pop(next(iter(_JOBS)))
    job._thread.start()
    return job


def get(job_id: str) -> Job:
    """The job of an id given to the page."""
    job = _JOBS.get(job_id)
    if job is None:
        raise ConfigError("job", f"no simulation {job_id!r} (finished long ago, or never "
                          "started)")
    return job


def cancel(job_id: str) -> Job:
    """Cancel a job (it stops after its current seed)."""
    job = get(job_id)
    job.cancel()
    return job
