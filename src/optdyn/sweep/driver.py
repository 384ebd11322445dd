"""The sweep driver: plan the batches, skip those the store holds, run the rest anywhere.

A batch that raises is retried (``retries`` times); if it fails again its error is recorded in
the store and the other batches complete. A worker process that dies takes its pool with it:
the local pool is rebuilt and its unfinished batches resubmitted (Dask reschedules by itself).
The driver alone writes the store, each batch atomically, so a killed sweep loses only the
batches in flight; ``resume=True`` computes only what is missing.
"""

from __future__ import annotations

import concurrent.futures as cf
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn.study import Study, load_study, parse_study
from optdyn.sweep.batch import run_batch
from optdyn.sweep.executors import cpu_count
from optdyn.sweep.executors import executor as make_executor
from optdyn.sweep.plan import Batch, plan
from optdyn.sweep.progress import BatchProgress
from optdyn.sweep.store import Store

__all__ = ["as_study", "run"]


def as_study(study: Any, **kwargs: Any) -> Study:
    """A :class:`~optdyn.study.Study` from a Study, a plain dict or a TOML / .nc path."""
    if isinstance(study, Study):
        return study
    if isinstance(study, Mapping):
        return parse_study(study, **kwargs)
    if isinstance(study, str | Path):
        return load_study(study, **kwargs)
    raise ConfigError("study", f"expected a Study, a dict or a path, got {type(study).__name__}")


def run(study: Any, store: str | Path, *, executor: Any = "local", address: str | None = None,
        workers: int | None = None, resume: bool = False, points_per_batch: int = 16,
        retries: int = 1, progress: bool | None = None, confirm: bool = False,
        cluster_options: dict[str, Any] | None = None,
        worker: Callable[[dict], xr.Dataset] = run_batch) -> xr.Dataset:
    """Run every point of a study's grid and return the store as one Dataset.

    Args:
        study: a :class:`~optdyn.study.Study`, its dict, or a TOML / ``.nc`` path.
        store: the store folder (created; an existing one must hold the same study).
        executor: ``"local"`` processes (default), ``"inline"``, ``"dask"``, ``"slurm"``,
            ``"pbs"`` or any ``concurrent.futures.Executor`` (see :mod:`.executors`).
        address: a Dask scheduler address (``executor="dask"``); none: a LocalCluster.
        workers: worker processes (default: the CPUs for local, 2 for a LocalCluster).
        resume: finish a store that holds this study (its finished batches are kept).
        points_per_batch: grid points per batch (points that share a problem only).
        retries: times a failing batch is tried again before its error is recorded.
        progress: bar (True), nothing (False), or a bar on a terminal and lines elsewhere.
        confirm: accept a grid larger than the default limit of 10^6 points.
        cluster_options: arguments of a dask-jobqueue cluster.
        worker: the function of a batch task (default :func:`.batch.run_batch`).
    """
    study = as_study(study, max_points=None if confirm else 1_000_000)
    if not confirm and study.grid.size > 1_000_000:
        raise ConfigError("sweep", f"the grid has {study.grid.size:,} points; pass confirm=True "
                          "(--yes) to run it")
    batches = plan(study, points_per_batch)
    st = Store(store)
    st.open_for(study, batches, points_per_batch, resume)
    run_id = uuid.uuid4().hex[:10]
    done = st.done()
    todo = [b for b in batches if b.hash not in done]
    st.log({"event": "start", "run": run_id, "batches": len(batches),
            "cached": len(batches) - len(todo)})
    tries: dict[str, int] = {}
    with BatchProgress(len(batches), len(batches) - len(todo), progress) as bar:
        while todo:
            todo = _round(todo, st, run_id, executor, address, workers, cluster_options,
                          worker, retries, tries, bar)
    st.log({"event": "end", "run": run_id})
    return st.dataset()


def _round(todo: list[Batch], st: Store, run_id: str, kind: Any, address: str | None,
           workers: int | None, cluster_options: dict | None, worker: Callable,
           retries: int, tries: dict[str, int], bar: BatchProgress) -> list[Batch]:
    """Submit ``todo`` to one executor; return the batches to submit again to a fresh one
    (those left when a local pool broke)."""
    with make_executor(kind, address=address, workers=workers,
                       cluster_options=cluster_options) as ex:
        futures = {ex.submit(worker, b.task()): b for b in todo}
        order = {b.hash: i for i, b in enumerate(todo)}
        while futures:
            finished, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in sorted(finished, key=lambda f: order[futures[f].hash]):
                batch = futures[fut]
                try:
                    ds = fut.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                except Exception as e:  # noqa: BLE001 (recorded in the store)
                    del futures[fut]
                    tries[batch.hash] = tries.get(batch.hash, 0) + 1
                    msg = f"{type(e).__name__}: {e}"
                    if _may_retry(batch, st, run_id, retries, tries, bar, msg,
                                  "".join(traceback.format_exception(e))):
                        futures[ex.submit(worker, batch.task())] = batch
                    continue
                del futures[fut]
                st.write(batch, ds, run_id)
                bar.update(done=1)
            if broken:
                # the pool is gone: every unfinished batch runs again on a fresh pool; only the
                # first ones dispatched (one per worker) may have killed it and count a try
                left = sorted(futures.values(), key=lambda b: order[b.hash])
                suspects = {b.hash for b in left[:workers or cpu_count()]}
                for h in suspects:
                    tries[h] = tries.get(h, 0) + 1
                st.log({"event": "pool-broken", "run": run_id, "resubmit": len(left)})
                for f in futures:
                    f.cancel()
                return [b for b in left if b.hash not in suspects or _may_retry(
                    b, st, run_id, retries, tries, bar, "a worker process died")]
    return []


def _may_retry(batch: Batch, st: Store, run_id: str, retries: int, tries: dict[str, int],
               bar: BatchProgress, error: str, trace: str = "") -> bool:
    """Whether a failed batch runs again; if not, its failure is recorded."""
    if tries[batch.hash] <= retries:
        st.log({"event": "retry", "batch": batch.hash, "run": run_id, "error": error})
        return True
    st.fail(batch, error, trace, run_id)
    bar.update(failed=1)
    return False
