"""The spec language and studies: every registered class round-trips, errors name the field,
grids of any field, and a result's recorded spec computes it again."""

import dataclasses
import json
import tomllib

import numpy as np
import pytest

import optdyn as od
from optdyn._core import registry
from optdyn._core.errors import ConfigError
from optdyn._core.spec import build, to_spec
from optdyn.grid import grid_from_spec
from optdyn.study import load_study, parse_study

SPECS = {
    "problem": [
        {"kind": "linear_regression", "eigenvalues": {"kind": "power_law", "d": 12, "alpha": 1.0},
         "basis": "haar", "theta_star": {"kind": "power_law", "beta": 0.5},
         "noise": {"law": "student_t", "df": 3.0, "scale": 0.2}},
        {"kind": "LinearRegression", "covariance": {"kind": "toeplitz", "d": 8, "rho": 0.5},
         "theta_star": {"kind": "random", "norm": 2.0}},
        {"kind": "matrix_regression", "d": 8, "m": 4,
         "eigenvalues": {"kind": "isotropic"}, "target": {"kind": "random"}, "sigma": 0.1},
        {"kind": "plrf", "v": 40, "d": 10, "alpha": 1.0, "beta": 0.6},
        {"kind": "associative_memory", "K": 8, "M": 2, "beta": 1.0},
    ],
    "optimizer": [
        {"kind": "sgd", "lr": 0.1, "batch_size": 4, "momentum": 0.9},
        {"kind": "sign-sgd", "lr": {"schedule": "cosine", "peak": 0.01, "total_steps": 100}},
        {"kind": "clipped_sgd", "lr": 0.1, "threshold": {"schedule": "power_decay", "peak": 2.0}},
        {"kind": "adam", "lr": 1e-3, "b2": 0.99},
        {"kind": "normalized_sgd", "lr": 0.1},
        {"kind": "signsvd", "lr": 0.02, "batch_size": 8},
        {"kind": "muon", "lr": 0.02, "convention": "torch", "ns_dtype": "bfloat16"},
        {"kind": "aligned_sign_sgd", "lr": 0.1, "query_basis": [[1.0, 0.0], [0.0, 1.0]],
         "answer_basis": [[1.0, 0.0], [0.0, 1.0]]},
        {"kind": "optax", "transformation": {"optax": "adamw", "learning_rate": 1e-3}},
    ],
}


@pytest.mark.parametrize("category,spec", [(c, s) for c, ss in SPECS.items() for s in ss],
                         ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_every_class_round_trips(category, spec):
    obj = build(category, spec, category)
    once = to_spec(obj)
    again = to_spec(build(category, once, category))
    assert once == again
    json.dumps(once)  # plain data


def test_every_registered_class_is_nameable():
    from optdyn import study  # noqa: F401  (fills the registry)

    names = {c: set(registry.entries(c)) for c in ("problem", "optimizer", "noise", "schedule",
                                                   "vector", "matrix", "spectrum")}
    assert {"SGD", "SignSGD", "ClippedSGD", "Adam", "NormalizedSGD", "SignSVD", "Muon",
            "AlignedSignSGD", "optax"} <= names["optimizer"]
    assert {"linear_regression", "matrix_regression", "plrf", "associative_memory",
            "random_features"} <= names["problem"]
    assert {"gaussian", "student_t", "cauchy", "laplace", "none"} <= names["noise"]
    assert {"cosine", "wsd", "power_decay"} <= names["schedule"]


def test_a_newly_registered_class_is_in_the_spec():
    @registry.register("optimizer", "TestOnlySGD")
    @dataclasses.dataclass(frozen=True)
    class TestOnlySGD(od.optimizers.SGD):
        name = "TestOnlySGD"

    try:
        obj = build("optimizer", {"kind": "test_only_sgd", "lr": 0.3}, "optimizer")
        assert isinstance(obj, TestOnlySGD) and to_spec(obj)["kind"] == "TestOnlySGD"
    finally:
        del registry.REGISTRY["optimizer"]["TestOnlySGD"]


@pytest.mark.parametrize("edit,field,hint", [
    (lambda r: r["optimizer"][1].update(kind="sign_sgdd"), "optimizer[1].kind",
     "did you mean 'SignSGD'"),
    (lambda r: r["optimizer"][0].update(lrr=0.1), "optimizer[0].lrr", "'lr'"),
    (lambda r: r["problem"]["eigenvalues"].update(alpah=1), "problem.eigenvalues.alpah", "alpha"),
    (lambda r: r["problem"]["noise"].update(law="studnet_t"), "problem.noise.law", "student_t"),
    (lambda r: r["problem"].update(kind="os.system"), "problem.kind", "expected one of"),
    (lambda r: r.update(sweep={"optimizer.lrr": [0.1]}), "sweep.optimizer.lrr", "'lr'"),
    (lambda r: r.update(sweep={"problm.sigma": [0.1]}), "sweep.problm.sigma", "problem"),
    (lambda r: r.update(sweep={"optimizer.lr": []}), "sweep.optimizer.lr", "empty"),
    (lambda r: r.update(sweep={"optimizer.lr": [0.1, -1.0]}), "optimizer[0].lr", ">= 0"),
    (lambda r: r.update(sweep={"optimizer.lr": [0.1, 0.1]}), "sweep.optimizer.lr", "repeats"),
])
def test_errors_name_the_field_and_the_closest_name(edit, field, hint):
    raw = small_study()
    edit(raw)
    with pytest.raises(ConfigError) as e:
        parse_study(raw)
    assert e.value.field == field
    assert hint in str(e.value)


def small_study(**over):
    raw = {
        "name": "small", "steps": 200, "seeds": 2, "theory": "ode",
        "problem": {"kind": "linear_regression",
                    "eigenvalues": {"kind": "power_law", "d": 16, "alpha": 1.0},
                    "theta_star": {"kind": "random", "norm": 1.0},
                    "noise": {"law": "gaussian", "std": 0.1}},
        "optimizer": [{"kind": "sgd", "lr": 0.1}, {"kind": "sign_sgd", "lr": 0.01}],
    }
    raw.update(over)
    return raw


def test_grids_product_zip_and_cases():
    g = grid_from_spec({"optimizer.lr": [0.1, 0.2, 0.3], "problem.eigenvalues.alpha": [0.5, 1],
                        "zip": {"optimizer.batch_size": [1, 2], "seeds": [2, 3]},
                        "cases": [{"steps": 10}, {"steps": 20}]})
    assert g.shape == (3, 2, 2, 2) and g.size == 24
    assert g.assignment(23) == {"optimizer.lr": 0.3, "problem.eigenvalues.alpha": 1,
                                "optimizer.batch_size": 2, "seeds": 3, "steps": 20}
    assert grid_from_spec(g.to_spec()) == g
    with pytest.raises(ConfigError, match="differ in length"):
        grid_from_spec({"zip": {"a.b": [1, 2], "c.d": [1]}})


def test_a_huge_grid_is_refused_before_any_work_with_its_size():
    raw = small_study(sweep={"optimizer.lr": list(np.linspace(0.01, 1, 10_000)),
                             "problem.eigenvalues.alpha": list(np.linspace(0.1, 2, 10_000))})
    with pytest.raises(ConfigError, match="100,000,000 points"):
        parse_study(raw)


def test_a_sweep_point_sets_the_field_everywhere_it_addresses():
    st = parse_study(small_study(sweep={"optimizer.lr": [0.05, 0.2],
                                        "optimizer[1].batch_size": [1, 4]}))
    spec = st.point_spec(3)
    assert [o["lr"] for o in spec["optimizer"]] == [0.2, 0.2]
    assert [o["batch_size"] for o in spec["optimizer"]] == [1, 4]


def test_the_old_experiment_form_still_reads():
    raw = tomllib.loads("""
steps = 100
[problem]
d = 10
spectrum = { kind = "power_law", alpha = 1.0 }
theta_star = { kind = "random" }
[[optimizer]]
kind = "sgd"
sweep = { lr = [0.1, 0.2] }
""")
    st = parse_study(raw)
    assert st.spec["problem"]["eigenvalues"] == {"kind": "power_law", "d": 10, "alpha": 1.0,
                                                 "scale": 1.0}
    assert [o["lr"] for o in st.spec["optimizer"]] == [0.1, 0.2]


def test_a_result_records_its_spec_and_optdyn_run_reproduces_it(tmp_path):
    from optdyn.cli import main
    from optdyn.config import experiment_from_study

    exp = experiment_from_study(parse_study(small_study()))
    sim = od.simulate.run(exp.problem, exp.optimizers, exp.steps, seeds=2, progress=False)
    th = od.theory.run(exp.problem, exp.optimizers, exp.steps)
    od.io.save(sim, tmp_path / "sim.nc")
    od.io.save(th, tmp_path / "th.nc")
    again = load_study(tmp_path / "sim.nc")
    assert again.spec["problem"] == parse_study(small_study()).spec["problem"]
    assert main(["run", str(tmp_path / "sim.nc"), "--out", str(tmp_path / "a"),
                 "--no-progress"]) == 0
    assert main(["run", str(tmp_path / "th.nc"), "--out", str(tmp_path / "b")]) == 0
    import xarray as xr

    rerun = xr.load_dataset(tmp_path / "a" / "dataset.nc")
    np.testing.assert_array_equal(rerun["risk"].values, sim["risk"].values)
    rerun_th = xr.load_dataset(tmp_path / "b" / "theory.nc")
    np.testing.assert_array_equal(rerun_th["risk"].values, th["risk"].values)


def test_objects_without_a_spec_say_why():
    import optax

    p = od.problems.LinearRegression(eigenvalues=[1.0, 0.5], theta_star=[1.0, 1.0])
    ds = od.simulate.run(p, od.optimizers.OptaxOptimizer(optax.sgd(0.1)), 10, seeds=1,
                         progress=False)
    assert "spec" not in ds.attrs and "OptaxOptimizer.named" in ds.attrs["spec_error"]
    named = od.optimizers.OptaxOptimizer.named("sgd", learning_rate=0.1)
    ds = od.simulate.run(p, named, 10, seeds=1, progress=False)
    assert json.loads(ds.attrs["spec"])["optimizer"][0]["transformation"]["optax"] == "sgd"
