"""The explorer's server without a browser: the view's checks and bounds, the curves it returns
against the theory driver, a saved view rerun by ``optdyn run`` to the same curves (1e-12),
simulations started, polled and cancelled, and errors answered in words."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("tomli_w")

from optdyn import io, theory  # noqa: E402
from optdyn._core.errors import ConfigError  # noqa: E402
from optdyn.cli import main  # noqa: E402
from optdyn.config import load_experiment  # noqa: E402
from optdyn.explore import (
    jobs,  # noqa: E402
    start,  # noqa: E402
)
from optdyn.explore.app import MAX_BODY  # noqa: E402
from optdyn.explore.view import DEFAULT_VIEW, LIMITS, check_view, document  # noqa: E402


def _view(**problem) -> dict:
    v = copy.deepcopy(DEFAULT_VIEW)
    v["problem"].update(problem)
    v["problem"]["d"] = problem.get("d", 200)
    v["steps"] = 2000
    return v


class _Reply:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self.content = status, body
        self.text = body.decode(errors="replace")

    def json(self):
        return json.loads(self.content)


class _Client:
    """The real server on a free port, spoken to over HTTP (urllib)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _send(self, method, path, json_=None, content=None):
        data = content if content is not None else (
            None if json_ is None else json.dumps(json_).encode())
        req = urllib.request.Request(self.url + path, method=method, data=data,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as f:
                return _Reply(f.status, f.read())
        except urllib.error.HTTPError as e:
            return _Reply(e.code, e.read())

    def get(self, path):
        return self._send("GET", path)

    def delete(self, path):
        return self._send("DELETE", path)

    def post(self, path, json=None, content=None):
        return self._send("POST", path, json, content)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    srv = start(out_dir=tmp_path_factory.mktemp("saved"))
    yield _Client(srv.url)
    srv.stop()


@pytest.mark.parametrize("change, field, words", [
    ({"problem": {"d": "abc"}}, "problem.d", "expected a number"),
    ({"problem": {"d": 10**6}}, "problem.d", "at most 4000"),
    ({"problem": {"d": 2.5}}, "problem.d", "whole number"),
    ({"problem": {"spectrum": "wishart"}}, "problem.spectrum", "expected one of"),
    ({"problem": {"noise_scale": float("nan")}}, "problem.noise_scale", "finite"),
    ({"problem": {"code": "import os"}}, "problem.code", "unknown field"),
    ({"steps": 10**8}, "steps", "at most"),
    ({"seeds": 0}, "seeds", "at least 1"),
    ({"optimizers": []}, "optimizers", "at least one"),
    ({"optimizers": [{"kind": "lbfgs"}]}, "optimizers[0].kind", "unknown optimizer"),
    ({"optimizers": [{"kind": "sgd", "lr": -1}]}, "optimizers[0].lr", "at least"),
    ({"optimizers": [{"kind": "sgd"}] * 9}, "optimizers", "at most 8"),
    ({"eval": "x"}, "eval", "unknown field"),
])
def test_check_view_names_the_field(change, field, words):
    v = _view()
    for k, x in change.items():
        if k == "problem":
            v["problem"].update(x)
        else:
            v[k] = x
    with pytest.raises(ConfigError) as e:
        check_view(v)
    assert e.value.field == field and words in e.value.message


def test_check_view_fills_defaults_and_reads_typed_numbers():
    v = check_view({"problem": {"d": " 300 "}, "optimizers": [{"kind": "sgd", "lr": "0.05"}]})
    assert v["problem"]["d"] == 300 and v["problem"]["spectrum"] == "power_law"
    assert v["optimizers"] == [{"kind": "sgd", "lr": 0.05, "batch_size": 1, "momentum": 0.0}]
    assert v["steps"] == DEFAULT_VIEW["steps"]


def test_curves_are_the_theory_drivers(client):
    v = _view()
    r = client.post("/api/curves", json=v)
    assert r.status_code == 200
    got = r.json()["curves"]
    exp = load_experiment_from(v)
    assert exp.theory == "ode" and exp.theory_options == {"rtol": 1e-5}
    th = theory.run_available(exp.problem, exp.optimizers, exp.steps, exp.theory,
                              points_per_decade=exp.points_per_decade, warn=False,
                              **exp.theory_options)
    for i, c in enumerate(got):
        sub = th.isel(config=i)
        keep = sub.t.values > 0
        np.testing.assert_allclose(c["x"], sub.t.values[keep], rtol=1e-14)
        np.testing.assert_allclose(c["risk"], sub.risk.values[keep], rtol=1e-12)
        assert c["critical_lr"] == (None if np.isinf(sub.critical_lr) else float(sub.critical_lr))
        assert c["limit_risk"] == pytest.approx(float(sub.limit_risk), rel=1e-12)
    # SGD's critical rate is 2B / Tr K (the ODE's stability limit)
    assert got[0]["critical_lr"] == pytest.approx(2.0 / exp.problem.trace, rel=1e-9)


def load_experiment_from(view):
    from optdyn.config import parse_experiment

    return parse_experiment(document(check_view(view)))


def test_the_explorers_tolerance_keeps_curves_within_a_tenth_of_a_percent(client):
    v = _view()
    v["problem"]["d"], v["steps"] = 1000, 10_000  # the default view
    fast = client.post("/api/curves", json=v).json()["curves"]
    v["rtol"] = 1e-9
    tight = client.post("/api/curves", json=v).json()["curves"]
    for a, b in zip(fast, tight, strict=True):
        err = np.max(np.abs(np.asarray(a["risk"]) / np.asarray(b["risk"]) - 1))
        assert err < 1e-3, (a["label"], err)  # measured: 1.3e-4 to 3.1e-4


def test_every_spectrum_and_noise_draws(client):
    for problem in ({"spectrum": "isotropic", "basis": "haar"},
                    {"spectrum": "toeplitz", "rho": 0.3}, {"noise": "student_t", "df": 4.0},
                    {"noise": "cauchy"}, {"noise": "none", "beta": 1.0}):
        r = client.post("/api/curves", json=_view(**problem))
        assert r.status_code == 200, (problem, r.json())
        curves = r.json()["curves"]
        assert any(c["has_theory"] for c in curves)
        for c in curves:
            assert c["has_theory"] or c["message"].startswith("no theory")


def test_no_theory_and_divergence_are_explained(client):
    v = _view()
    v["optimizers"] = [{"kind": "adam", "lr": 1e-3}, {"kind": "sgd", "lr": 5.0}]
    curves = client.post("/api/curves", json=v).json()["curves"]
    assert not curves[0]["has_theory"] and "no theory" in curves[0]["message"]
    assert curves[1]["diverged"]
    crit = curves[1]["critical_lr"]
    assert f"above the critical rate {crit:.4g}" in curves[1]["message"]


def test_errors_are_words_not_traces(client):
    r = client.post("/api/curves", json=_view(d="abc"))
    assert r.status_code == 400
    assert r.json() == {"error": "problem.d: expected a number, got 'abc'", "field": "problem.d"}
    r = client.post("/api/curves", content=b"{not json")
    assert r.status_code == 400 and r.json()["field"] == "request"
    r = client.post("/api/curves", content=b" " * (MAX_BODY + 1))
    assert r.status_code == 400 and "kB" in r.json()["error"]
    assert client.get("/static/../../etc/passwd").status_code == 404
    assert client.get("/static/app.py").status_code == 404
    assert client.get("/api/simulate/nope").status_code == 400


def test_the_page_and_its_scripts_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/explore.js" in page.text
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000  # served from the plotly wheel
    schema = client.get("/api/schema").json()
    assert schema["limits"] == LIMITS and check_view(schema["default"]) == schema["default"]


def test_saved_view_reruns_with_optdyn_run_to_the_same_curves(client, tmp_path, capsys):
    v = _view(noise="student_t", df=3.0)
    v["optimizers"].append({"kind": "sgd", "lr": 0.05, "momentum": 0.5})
    drawn = client.post("/api/curves", json=v).json()["curves"]
    saved = client.post("/api/save", json={"view": v}).json()
    assert saved["spec"].endswith(".toml") and saved["figure"].endswith(".png")
    assert load_experiment(saved["spec"]).theory == "ode"
    assert main(["run", saved["spec"], "--out", str(tmp_path)]) == 0
    th = io.load(tmp_path / "theory.nc")
    assert th.sizes["config"] == len(drawn) == 5
    for i, c in enumerate(drawn):
        sub = th.isel(config=i)
        keep = sub.t.values > 0
        assert str(sub.label.values) == c["label"]
        err = np.max(np.abs(np.asarray(c["risk"]) / sub.risk.values[keep] - 1))
        assert err <= 1e-12, (c["label"], err)


def test_simulation_runs_in_the_background_and_cancels(client):
    v = _view(d=50)
    v["steps"], v["seeds"] = 200, 3
    st = client.post("/api/simulate", json=v).json()
    assert st["state"] == "running" and st["total"] == 3
    job = jobs.get(st["id"])
    job._thread.join(timeout=120)
    st = client.get(f"/api/simulate/{st['id']}").json()
    assert st["state"] == "done" and st["done"] == 3
    assert len(st["configs"]) == 4 and all(c["n_runs"] == 3 for c in st["configs"])
    # the bands are those of simulate.run over the same seeds
    from optdyn import simulate

    exp = load_experiment_from(v)
    ds = simulate.run(exp.problem, exp.optimizers, exp.steps, seeds=3, dtype=exp.dtype,
                      points_per_decade=exp.points_per_decade, progress=False)
    mean = ds.risk.isel(config=0).mean("seed").values[ds.t.values > 0]
    np.testing.assert_allclose(st["configs"][0]["mean"], mean, rtol=1e-6)
    # a long one is cancelled after its current seed
    v["seeds"], v["steps"] = 16, 20_000
    st = client.post("/api/simulate", json=v).json()
    assert client.delete(f"/api/simulate/{st['id']}").status_code == 200
    jobs.get(st["id"])._thread.join(timeout=120)
    st = client.get(f"/api/simulate/{st['id']}").json()
    assert st["state"] == "cancelled" and st["done"] < 16


def test_simulation_work_is_bounded(client):
    v = _view(d=4000)
    v["steps"], v["seeds"] = 1_000_000, 16
    r = client.post("/api/simulate", json=v)
    assert r.status_code == 400 and r.json()["field"] == "seeds"
    assert "bound" in r.json()["error"]


def test_saved_spec_is_plain_toml():
    import tomllib

    from optdyn.explore.save import spec_text

    text = spec_text(check_view(_view()))
    doc = tomllib.loads(text)
    assert doc["simulate"] is False and doc["theory"] == {"method": "ode", "rtol": 1e-5}
    assert json.dumps(doc)  # numbers, strings and tables only


def test_the_command_refuses_a_bad_or_busy_port(capsys):
    import socket

    assert main(["explore", "--port", "0", "--no-browser"]) == 2
    assert "port: must lie in 1..65535" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["explore", "--port", str(port), "--no-browser"]) == 2
    assert "choose another with --port N" in capsys.readouterr().err
