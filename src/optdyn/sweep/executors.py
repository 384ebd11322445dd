"""Where batches run: the driver's process, local processes, a Dask cluster, or any executor.

``executor(kind, address=..., workers=...)`` is a context manager that yields a
``concurrent.futures.Executor``:

* ``"local"`` (default): a pool of ``workers`` local processes (spawned, so each has its own
  JAX runtime); a worker that dies breaks the pool, which the driver rebuilds;
* ``"inline"``: the driver's own process, one batch at a time (debugging, tests);
* ``"dask"``: a ``dask.distributed`` cluster: the scheduler at ``address``, or a LocalCluster
  of ``workers`` single-threaded worker processes that it starts and stops (Dask reschedules
  the batch of a worker that dies);
* ``"slurm"``, ``"pbs"``: a ``dask_jobqueue`` cluster scaled to ``workers`` jobs
  (``cluster_options`` are its arguments: cores, memory, queue, walltime...);
* an ``Executor`` instance (or a ``distributed.Client``) is used as it is.

Dask and dask-jobqueue are optional (``pip install optdyn[dask]``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any

from optdyn._core.errors import ConfigError

__all__ = ["KINDS", "InlineExecutor", "cpu_count", "executor"]

KINDS = ("local", "inline", "dask", "slurm", "pbs")


class InlineExecutor(cf.Executor):
    """Runs each task in the calling process when it is submitted."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 (the driver records it)
            if isinstance(e, KeyboardInterrupt):
                raise
            fut.set_exception(e)
        return fut


def _need_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError("executor", "the dask executor needs dask.distributed: pip install "
                          "'optdyn[dask]'") from None
    return distributed


def cpu_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS)
        return os.cpu_count() or 1


@contextlib.contextmanager
def executor(kind: Any = "local", *, address: str | None = None, workers: int | None = None,
             cluster_options: dict[str, Any] | None = None) -> Iterator[cf.Executor]:
    """An executor of ``kind`` (see the module docstring), closed on exit."""
    if isinstance(kind, cf.Executor):
        yield kind
        return
    if hasattr(kind, "get_executor"):  # a distributed.Client
        yield kind.get_executor()
        return
    if kind not in KINDS:
        from optdyn._core.registry import did_you_mean

        raise ConfigError("executor", f"unknown executor {kind!r}{did_you_mean(kind, KINDS)} "
                          f"(expected one of {list(KINDS)}, or an Executor)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ConfigError("workers", f"must be a positive integer, got {workers!r}")
    if kind == "inline":
        yield InlineExecutor()
    elif kind == "local":
        n = workers or cpu_count()
        with cf.ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as ex:
            yield ex
    elif kind == "dask":
        distributed = _need_distributed()
        if address is not None:
            with distributed.Client(address) as client:
                yield client.get_executor()
        else:
            with distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1,
                                          processes=True, dashboard_address=None) as cluster, \
                    distributed.Client(cluster) as client:
                yield client.get_executor()
    else:
        distributed = _need_distributed()
        try:
            import dask_jobqueue
        except ImportError:
            raise ConfigError("executor", f"the {kind} executor needs dask-jobqueue: pip "
                              "install 'optdyn[dask]'") from None
        cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
        opts = {"cores": 1, "memory": "4GB", **(cluster_options or {})}
        with cls(**opts) as cluster, distributed.Client(cluster) as client:
            cluster.scale(workers or 1)
            yield client.get_executor()
