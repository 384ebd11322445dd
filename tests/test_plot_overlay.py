"""Theory and simulation in one call: experiment files, ``optdyn run`` and ``plot.overlay``."""

import json

import numpy as np
import pytest

from optdyn import io, noise, plot, simulate, theory
from optdyn.cli import main
from optdyn.config import parse_experiment
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, Adam, SignSGD
from optdyn.problems import LinearRegression, RandomVector, spectra

TOML = """
name = "overlay"
steps = 400
seeds = 2
theory = {theory}

[problem]
kind = "linear_regression"
d = 40
spectrum = {{ kind = "power_law", alpha = 0.3 }}
theta_star = {{ kind = "random", norm = 3.0 }}
noise = {{ law = "gaussian", std = 0.3 }}

[[optimizer]]
kind = "sgd"
lr = 0.05

[[optimizer]]
kind = "adam"
lr = 0.01

[output]
dir = "{out}"
"""


@pytest.mark.parametrize("method", ["true", '"exact"'])
def test_run_writes_theory_and_overlay(tmp_path, method):
    path = tmp_path / "exp.toml"
    path.write_text(TOML.format(theory=method, out=tmp_path / "out"))
    assert main(["run", str(path), "--no-progress"]) == 0
    th = io.load(tmp_path / "out" / "theory.nc")
    sim = io.load(tmp_path / "out" / "dataset.nc")
    assert (tmp_path / "out" / "risk.png").stat().st_size > 10_000
    assert json.loads(th.attrs["has_theory"]) == [True, False]
    assert np.isfinite(th.risk.values[0]).all() and np.isnan(th.risk.values[1]).all()
    np.testing.assert_array_equal(th.step.values, sim.step.values)
    assert list(th.label.values) == list(sim.label.values)


def test_theory_key_is_validated(tmp_path):
    import tomllib

    raw = tomllib.loads(TOML.format(theory='"euler"', out=tmp_path))
    with pytest.raises(ConfigError, match="theory"):
        parse_experiment(raw)


def test_overlay_matches_configs_by_label():
    p = LinearRegression(eigenvalues=spectra.power_law(30, 0.3), theta_star=RandomVector(2.0),
                         noise=noise.Gaussian(0.2))
    opts = [SGD(0.05), SignSGD(0.01)]
    sim = simulate.run(p, opts, 300, seeds=2)
    th = theory.run(p, opts, 300)
    ax = plot.overlay(sim, th)
    assert len(ax.get_lines()) >= 4
    # different configs on the two sides: matched by label, not refused (issue 19)
    other = theory.run(p, opts[:1] + [SGD(0.1), SGD(0.2)], 300)
    ax = plot.overlay(sim, other)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    for label in ["SGD(lr=0.05)", "SignSGD(lr=0.01)", "SGD(lr=0.1)", "SGD(lr=0.2)"]:
        assert sum(t.startswith(label) for t in texts) == 1, (label, texts)
    with pytest.raises(ValueError, match="no 'loss'"):
        plot.overlay(sim, th[["risk"]], var="loss")
    mixed = theory.run_available(p, [SGD(0.05), Adam(0.01)], 300, warn=False)
    assert mixed.sizes["config"] == 2 and np.isnan(mixed.risk.values[1]).all()
    ax = plot.overlay(simulate.run(p, [SGD(0.05), Adam(0.01)], 300, seeds=2), mixed)
    assert any("Adam" in t and "no theory" in t for t in
               (t.get_text() for t in ax.get_legend().get_texts()))
