import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from optdyn import io, noise, plot, simulate
from optdyn.cli import main
from optdyn.config import parse_experiment
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems import LinearRegression, RandomVector, spectra

SMALL = """
name = "small"
steps = 200
seeds = 2
[problem]
d = 20
spectrum = { kind = "power_law", alpha = 0.5 }
basis = "haar"
theta_star = { kind = "random", norm = 1.0 }
noise = { law = "gaussian", std = 0.1 }
[[optimizer]]
kind = "sgd"
sweep = { lr = [0.05, 0.1] }
[[optimizer]]
kind = "sign_sgd"
lr = { schedule = "cosine", peak = 0.01, total_steps = 200 }
[output]
figure = true
"""


def test_run_command_writes_dataset_and_figure(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(SMALL)
    assert main(["run", str(exp), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    ds = io.load(tmp_path / "out" / "dataset.nc")
    assert ds.sizes["config"] == 3 and ds.sizes["seed"] == 2
    assert (tmp_path / "out" / "risk.png").stat().st_size > 10_000
    cfg = json.loads(ds.attrs["config"])
    assert cfg["optimizers"][2]["lr"]["schedule"] == "cosine"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r.update(stpes=10), "stpes"),
        (lambda r: r["problem"].update(nosie={"law": "gaussian", "std": 1.0}), "problem.nosie"),
        (lambda r: r["problem"].update(noise={"law": "gausian", "std": 1.0}), "problem.noise.law"),
        (lambda r: r["optimizer"][0].update(kind="sgdd"), "optimizer[0].kind"),
        (lambda r: r["optimizer"][0]["sweep"].update(lr=[0.1, -1.0]), "optimizer[0].lr"),
        (lambda r: r["optimizer"][1].update(lr={"schedule": "cosine", "peek": 1}),
         "optimizer[1].lr.peek"),
        (lambda r: r["problem"]["spectrum"].update(alpah=1), "problem.spectrum.alpah"),
        (lambda r: r.update(steps=0), "steps"),
        (lambda r: r["problem"].pop("d"), "problem.d"),
    ],
)
def test_config_errors_name_the_field(edit, field):
    raw = tomllib.loads(SMALL)
    edit(raw)
    with pytest.raises(ConfigError) as e:
        parse_experiment(raw)
    assert e.value.field == field


def test_misspelled_key_suggests_and_cli_exits_2(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(SMALL.replace("seeds = 2", "sedes = 2"))
    assert main(["run", str(exp)]) == 2
    err = capsys.readouterr().err
    assert "sedes" in err and "did you mean 'seeds'" in err


def test_version_flag():
    out = subprocess.run([sys.executable, "-m", "optdyn.cli", "--version"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0 and out.stdout.startswith("optdyn ")


def test_save_load_round_trip_and_plot(tmp_path):
    prob = LinearRegression(eigenvalues=spectra.power_law(10, 0.5), theta_star=RandomVector(1.0),
                            noise=noise.Gaussian(0.1))
    ds = simulate.run(prob, [SGD(0.1), SignSGD(0.01), SGD(3.0)], 100, seeds=3)
    path = io.save(ds, tmp_path / "a" / "r.nc")
    back = io.load(path)
    np.testing.assert_array_equal(back.risk.values, ds.risk.values)
    np.testing.assert_array_equal(back.diverged.values, ds.diverged.values)
    assert back.attrs["config"] == ds.attrs["config"]
    assert list(back.label.values) == list(ds.label.values)
    ax = plot.risk_curves(ds)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("diverged" in t for t in labels)
    assert plot.save_figure(ax, tmp_path / "f.png").stat().st_size > 5_000


def test_shipped_demo_config_parses():
    from importlib import resources

    text = (resources.files("optdyn") / "data" / "demo.toml").read_text()
    exp = parse_experiment(tomllib.loads(text))
    assert exp.problem.d == 400 and len(exp.optimizers) == 6
    assert Path(exp.output_dir).name == "demo_output"


THEORY_ONLY = """
steps = 50
simulate = false
theory = "ode"
[problem]
kind = "linear_regression"
eigenvalues = { kind = "power_law", d = 10, alpha = 0.5 }
theta_star = { kind = "random", norm = 1.0 }
[[optimizer]]
kind = "sgd"
lr = 0.1
"""


def test_run_without_output_dir_writes_runs_file_stem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-first.toml").write_text(THEORY_ONLY)
    assert main(["run", "my-first.toml", "--no-progress"]) == 0
    assert (tmp_path / "runs" / "my-first" / "theory.nc").is_file()
    assert not (tmp_path / "runs" / "study").exists()


def test_output_dir_default_follows_the_name_field_then_the_stem(tmp_path):
    from optdyn.config import load_experiment

    (tmp_path / "a.toml").write_text(THEORY_ONLY)
    (tmp_path / "b.toml").write_text('name = "named"\n' + THEORY_ONLY)
    (tmp_path / "c.toml").write_text(THEORY_ONLY + '[output]\ndir = "elsewhere"\n')
    a, b, c = (load_experiment(tmp_path / f"{x}.toml") for x in "abc")
    assert (a.name, a.output_dir) == ("a", Path("runs/a"))
    assert (b.name, b.output_dir) == ("named", Path("runs/named"))
    assert (c.name, c.output_dir) == ("c", Path("elsewhere"))
