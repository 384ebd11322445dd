"""Sweeps: the same numbers whatever the executor or the batching, a store that resumes without
recomputing, faults (a killed driver, a killed worker, a batch that raises) on a Dask
LocalCluster, and refusals before any work."""

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from optdyn import sweep
from optdyn._core.errors import ConfigError
from optdyn.study import parse_study
from optdyn.sweep.batch import run_batch

distributed = pytest.importorskip("distributed")
import cloudpickle  # noqa: E402  (a dependency of distributed)

# the fault-injecting workers below travel to Dask workers by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

MUON_STUDY = {
    "name": "muon-grid", "steps": 200, "seeds": 2, "theory": "ode", "points_per_decade": 6,
    "problem": {"kind": "matrix_regression", "d": 16, "m": 16,
                "eigenvalues": {"kind": "power_law", "alpha": 1.0},
                "target": {"kind": "power_law", "beta": 1.0}, "sigma": 0.1},
    "optimizer": [{"kind": "muon", "lr": 0.02, "batch_size": 8, "convention": "torch",
                   "ns_dtype": "bfloat16"},
                  {"kind": "signsvd", "lr": 0.02, "batch_size": 8},
                  {"kind": "signsgd", "lr": 0.002, "batch_size": 8}],
    "sweep": {"optimizer.lr": [0.005, 0.01, 0.02, 0.04]},
}


def slow_study(n: int = 12, steps: int = 4000) -> dict:
    """A linear-regression grid whose batches (one point each) take a fraction of a second."""
    return {"name": "slow", "steps": steps, "seeds": 4, "points_per_decade": 5,
            "problem": {"kind": "linear_regression",
                        "eigenvalues": {"kind": "power_law", "d": 64, "alpha": 1.0},
                        "basis": "haar", "theta_star": {"kind": "random", "norm": 1.0},
                        "noise": {"law": "gaussian", "std": 0.1}},
            "optimizer": [{"kind": "sgd", "lr": 0.1}],
            "sweep": {"optimizer.lr": [float(x) for x in np.geomspace(0.01, 0.5, n)]}}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


LR_STUDY = {
    "name": "lr-grid", "steps": 300, "seeds": 2, "theory": "ode", "points_per_decade": 6,
    "problem": {"kind": "linear_regression",
                "eigenvalues": {"kind": "power_law", "d": 32, "alpha": 1.0}, "basis": "haar",
                "theta_star": {"kind": "random", "norm": 1.0},
                "noise": {"law": "student_t", "df": 3.0, "scale": 0.1}},
    "optimizer": [{"kind": "sgd", "lr": 0.1}, {"kind": "signsgd", "lr": 0.01},
                  {"kind": "clipped_sgd", "lr": 0.1, "threshold": 1.0}],
    "sweep": {"zip": {"optimizer[0].lr": [0.02, 0.05, 0.1, 0.2],
                      "optimizer[1].lr": [0.002, 0.005, 0.01, 0.02]}},
}


def _values(ds):
    return {v: ds[v].values for v in ("risk", "theory_risk", "diverged") if v in ds}


def _assert_same(a, b):
    for v, x in _values(a).items():
        np.testing.assert_array_equal(x, _values(b)[v], err_msg=v)


@pytest.mark.parametrize("study", [MUON_STUDY, LR_STUDY], ids=["muon", "linear"])
def test_same_numbers_whatever_the_executor_or_batching(tmp_path, client, study):
    """Bitwise: float32 simulations and float64 theory, inline with 1 and 16 points per batch,
    2 local worker processes and a 2-worker Dask LocalCluster (the linear study, whose SGD
    theory sums modes with a product XLA picks by width, in the driver's process only)."""
    runs = {
        "inline-1": sweep.run(study, tmp_path / "a", executor="inline",
                              points_per_batch=1, progress=False),
        "inline-16": sweep.run(study, tmp_path / "b", executor="inline",
                               points_per_batch=16, progress=False),
    }
    if study is MUON_STUDY:
        runs["local-2"] = sweep.run(study, tmp_path / "c", executor="local", workers=2,
                                    points_per_batch=3, progress=False)
        runs["dask-2"] = sweep.run(study, tmp_path / "d", executor=client, points_per_batch=2,
                                   progress=False)
    ref = runs["inline-1"]
    assert ref["risk"].dims[1:] == ("config", "seed", "step") and ref["risk"].shape[0] == 4
    assert np.isfinite(ref["risk"].values).all()
    for ds in runs.values():
        _assert_same(ref, ds)
    if study is MUON_STUDY:
        # theory where it exists: SignSVD and SignSGD have matrix ODE laws, Muon with momentum
        # none
        assert ref["has_theory"].sel(config=0).values.sum() == 0
        assert ref["has_theory"].sel(config=[1, 2]).values.all()
        assert list(ref["kind"].values[0]) == ["Muon", "SignSVD", "SignSGD"]
    else:
        assert ref["has_theory"].values.all() and np.isfinite(ref["theory_risk"].values).all()


def test_the_muon_study_runs_from_its_toml_file(tmp_path):
    from optdyn.cli import main

    path = Path(__file__).parents[1] / "examples" / "muon_study.toml"
    study = sweep.as_study(path)
    assert study.grid.shape == (5,)
    assert main(["sweep", str(path), "--store", str(tmp_path / "s"), "--executor", "inline",
                 "--no-progress"]) == 0
    ds = sweep.open(tmp_path / "s")
    assert ds["done"].all() and ds["has_theory"].values[:, 1:].all()


def raise_on_point(task, point):
    if point in task["points"]:
        raise RuntimeError(f"boom at point {point}")
    return run_batch(task)


def kill_once(task, point, marker):
    """SIGKILL the worker process the first time it runs ``point``."""
    if point in task["points"] and not os.path.exists(marker):
        Path(marker).write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return run_batch(task)


def test_a_batch_that_raises_is_recorded_and_the_others_complete(tmp_path, client):
    study = slow_study(6)
    ds = sweep.run(study, tmp_path / "s", executor=client, points_per_batch=1, progress=False,
                   worker=functools.partial(raise_on_point, point=2))
    st = sweep.status(tmp_path / "s")
    assert (st["done"], st["failed"], st["missing"]) == (5, 1, 0)
    (err,) = st["errors"].values()
    assert "boom at point 2" in err
    retries = [e for e in sweep.Store(tmp_path / "s").events() if e["event"] == "retry"]
    assert len(retries) == 1
    assert list(ds["done"].values) == [True, True, False, True, True, True]
    assert np.isnan(ds["risk"].values[2]).all() and np.isfinite(ds["risk"].values[3]).all()


def test_a_killed_worker_costs_nothing_but_time(tmp_path, client):
    study = slow_study(6)
    ds = sweep.run(study, tmp_path / "s", executor=client, points_per_batch=1, progress=False,
                   worker=functools.partial(kill_once, point=1,
                                            marker=str(tmp_path / "killed")))
    assert (tmp_path / "killed").exists()
    assert ds["done"].all() and np.isfinite(ds["risk"].values).all()
    ref = sweep.run(study, tmp_path / "ref", executor="inline", points_per_batch=1,
                    progress=False)
    _assert_same(ref, ds)


def test_a_killed_local_pool_is_rebuilt(tmp_path):
    study = slow_study(4)
    ds = sweep.run(study, tmp_path / "s", executor="local", workers=2, points_per_batch=1,
                   progress=False, worker=functools.partial(kill_once, point=0,
                                                            marker=str(tmp_path / "k")))
    assert ds["done"].all()
    assert any(e["event"] == "pool-broken" for e in sweep.Store(tmp_path / "s").events())


def test_a_killed_driver_resumes_without_recomputing(tmp_path):
    study_path = tmp_path / "slow.toml"
    study = slow_study(16, steps=12_000)  # batches of about a second: the kill lands mid-sweep
    lines = ['name = "slow"', f"steps = {study['steps']}", f"seeds = {study['seeds']}",
             "points_per_decade = 5", "[problem]", 'kind = "linear_regression"',
             'eigenvalues = { kind = "power_law", d = 64, alpha = 1.0 }', 'basis = "haar"',
             'theta_star = { kind = "random", norm = 1.0 }',
             'noise = { law = "gaussian", std = 0.1 }', "[[optimizer]]", 'kind = "sgd"',
             "lr = 0.1", "[sweep]", f'"optimizer.lr" = {study["sweep"]["optimizer.lr"]}']
    study_path.write_text("\n".join(lines) + "\n")
    store = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "optdyn", "sweep", str(study_path), "--store", str(store),
         "--executor", "dask", "--workers", "2", "--points-per-batch", "1", "--no-progress"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    st = sweep.Store(store)
    deadline = time.time() + 240
    while time.time() < deadline and (not st.exists() or len(st.done()) < 2):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = st.done()
    assert 2 <= len(finished) < 16, "the sweep finished before it could be killed"
    with pytest.raises(ConfigError, match="--resume"):
        sweep.run(study_path, store, executor="inline", progress=False, points_per_batch=1)
    ds = sweep.run(study_path, store, executor="inline", resume=True, points_per_batch=1,
                   progress=False)
    counts = st.computed()
    assert all(counts[h] == 1 for h in finished), "a finished batch was computed again"
    assert sum(counts.values()) == 16 and ds["done"].all()
    ref = sweep.run(study_path, tmp_path / "ref", executor="inline", points_per_batch=4,
                    progress=False)
    _assert_same(ref, ds)


def test_a_store_of_another_spec_is_refused(tmp_path):
    study = slow_study(2)
    study["steps"] = 50
    sweep.run(study, tmp_path / "s", executor="inline", progress=False)
    study["optimizer"][0]["batch_size"] = 2
    with pytest.raises(ConfigError, match=r"another spec.*optimizer\[0\]\.batch_size"):
        sweep.run(study, tmp_path / "s", executor="inline", resume=True, progress=False)


def test_bad_executor_and_huge_grid_are_refused_before_any_work(tmp_path):
    study = slow_study(2)
    with pytest.raises(ConfigError, match="did you mean 'dask'"):
        sweep.run(study, tmp_path / "s", executor="dsak")
    big = {**study, "sweep": {"optimizer.lr": [float(x) for x in np.linspace(0.01, 1, 2000)],
                              "seeds": list(range(1, 1001))}}
    with pytest.raises(ConfigError, match="2,000,000 points"):
        sweep.run(big, tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_sweep_status_from_the_command_line(tmp_path, capsys):
    from optdyn.cli import main

    study = slow_study(2)
    study["steps"] = 50
    sweep.run(study, tmp_path / "s", executor="inline", progress=False)
    assert main(["sweep", "status", str(tmp_path / "s")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["batches"], out["done"], out["failed"], out["points_done"]) == (1, 1, 0, 2)
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2


def test_progress_lines_off_a_terminal(tmp_path, capsys):
    study = slow_study(2)
    study["steps"] = 50
    sweep.run(study, tmp_path / "s", executor="inline", points_per_batch=1)
    err = capsys.readouterr().err
    assert "sweep: (done 2, cached 0, failed 0) 2/2 batches (100%)" in err


def test_run_batch_is_a_pure_function_of_its_task():
    st = parse_study(slow_study(3) | {"steps": 100})
    batch = sweep.plan(st, 3)[0]
    a, b = run_batch(batch.task()), run_batch(json.loads(json.dumps(batch.task())))
    np.testing.assert_array_equal(a["risk"].values, b["risk"].values)


def always_exit_on_point(task, point):
    """A batch that kills its worker process every time it runs."""
    if point in task["points"]:
        os._exit(1)
    return run_batch(task)


def tiny(**over):
    return {"name": "tiny", "steps": 40, "seeds": 1, "points_per_decade": 4,
            "problem": {"kind": "linear_regression",
                        "eigenvalues": {"kind": "power_law", "d": 8, "alpha": 1.0},
                        "theta_star": {"kind": "random", "norm": 1.0},
                        "noise": {"law": "gaussian", "std": 0.1}},
            "optimizer": [{"kind": "sgd", "lr": 0.1}], **over}


def test_points_land_at_their_coordinates_whatever_the_order_written(tmp_path):
    grid = {"cases": [{"problem.noise.std": 0.0}, {"problem.noise.std": 0.5}],
            "optimizer.lr": [0.05, 0.1, 0.2]}
    ds = sweep.run(tiny(sweep=grid), tmp_path / "s", executor="inline", points_per_batch=1,
                   progress=False)
    assert ds["risk"].dims[:2] == ("optimizer.lr", "case")
    for lr in (0.05, 0.1, 0.2):
        for case, std in enumerate((0.0, 0.5)):
            one = sweep.run(tiny(optimizer=[{"kind": "sgd", "lr": lr}],
                                 problem={**tiny()["problem"],
                                          "noise": {"law": "gaussian", "std": std}}),
                            tmp_path / f"one-{lr}-{std}", executor="inline", progress=False)
            np.testing.assert_array_equal(
                ds["risk"].sel({"optimizer.lr": lr}).isel(case=case).values, one["risk"].values)
    a = parse_study(tiny(sweep={"optimizer.lr": [0.1, 0.2], "seeds": [1, 2, 3]}))
    b = parse_study(tiny(sweep={"seeds": [1, 2, 3], "optimizer.lr": [0.1, 0.2]}))
    assert a.hash != b.hash


def test_sweeps_over_the_theory_method_and_a_parent_dimension(tmp_path):
    ds = sweep.run(tiny(sweep={"theory": ["ode", "exact"]}), tmp_path / "t",
                   executor="inline", progress=False)
    assert ds["has_theory"].values.all() and np.isfinite(ds["theory_risk"].values).all()
    matrix = {"kind": "matrix_regression", "d": 8, "m": 8,
              "eigenvalues": {"kind": "power_law", "alpha": 1.0}}
    st = parse_study(tiny(problem=matrix, optimizer=[{"kind": "signsvd", "lr": 0.02}],
                          sweep={"problem.d": [8, 16]}))
    from optdyn.study import point_objects

    assert [point_objects(st.point_spec(i))[0].eigenvalues.size for i in (0, 1)] == [8, 16]
    with pytest.raises(ConfigError, match="sweep the whole table"):
        parse_study(tiny(sweep={"optimizer.kind": ["sgd", "signsgd"]}))


def test_a_sweep_whose_batches_all_fail_reports_them(tmp_path):
    ds = sweep.run(tiny(sweep={"optimizer.lr": [0.1, 0.2]}), tmp_path / "s",
                   executor="inline", progress=False, points_per_batch=1,
                   worker=functools.partial(raise_on_point, point=0))
    assert list(ds["done"].values) == [False, True]
    ds = sweep.run(tiny(sweep={"optimizer.lr": [0.1]}), tmp_path / "all", executor="inline",
                   progress=False, worker=functools.partial(raise_on_point, point=0))
    assert not ds["done"].any() and sweep.status(tmp_path / "all")["failed"] == 1


def test_a_batch_that_kills_every_pool_fails_alone(tmp_path):
    ds = sweep.run(tiny(sweep={"optimizer.lr": [0.05, 0.1, 0.2]}), tmp_path / "s",
                   executor="local", workers=1, points_per_batch=1, progress=False,
                   worker=functools.partial(always_exit_on_point, point=0))
    assert list(ds["done"].values) == [False, True, True]
    assert sweep.status(tmp_path / "s")["failed"] == 1
