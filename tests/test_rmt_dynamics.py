"""The link to the dynamics: theory on the limiting conjugate-kernel spectrum against SGD on actual
random features; and the ``optdyn spectrum`` command."""

import argparse

import numpy as np
import pytest

from optdyn import simulate, theory
from optdyn.cli import spectrum as cli
from optdyn.optimizers import SGD
from optdyn.problems import LinearRegression, conjugate_kernel_problem, random_features_problem
from optdyn.rmt import ConjugateKernel


def test_problem_spectrum_is_the_quantiles():
    ck = ConjugateKernel("tanh", 400, 300, 200)
    p = conjugate_kernel_problem(ck, theta_star_norm=1.0)
    assert isinstance(p, LinearRegression) and p.d == 300
    assert np.allclose(np.sort(p.eigenvalues), ck.quantiles(300))
    assert np.mean(p.eigenvalues == 0) == pytest.approx(1 / 3, abs=1e-12)  # atom 1 - m/n1
    assert p.trace / p.d == pytest.approx(ck.theta1, rel=1e-3)
    assert np.linalg.norm(p.theta_star) == pytest.approx(1.0)


def test_sgd_theory_on_the_law_follows_sgd_on_random_features():
    n0, n1, m = 400, 200, 4000
    ck = ConjugateKernel("tanh", n0, n1, m)
    data = random_features_problem("tanh", n0, n1, m, theta_star_norm=2.0, noise_std=0.3)
    assert data.trace / n1 == pytest.approx(ck.theta1, rel=0.02)
    from optdyn import noise

    th_p = conjugate_kernel_problem(ck, theta_star_norm=2.0, noise=noise.Gaussian(0.3))
    opt = SGD(0.5 / th_p.trace)
    th = theory.run(th_p, opt, m, points_per_decade=6)
    sim = simulate.run(data, opt, m, seeds=4, points_per_decade=6)
    r, s = th.risk.values, sim.risk.mean("seed").values
    assert r[0] / r[-1] > 5  # the curve moved
    rel = np.abs(s / r - 1)[1:]
    assert rel.mean() < 0.06 and rel.max() < 0.2, (rel.mean(), rel.max())


def test_cli_prints_edges_and_writes_a_plot(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "s.png"
    args = parser.parse_args(["spectrum", "relu", "500", "500", "1000", "--plot", str(out)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "support = [" in text and "largest eigenvalue ->" in text and out.exists()
    # n1 (E f)^2 = 500 / (2 pi) for the non-centred ReLU
    assert "79.57" in text
    bad = parser.parse_args(["spectrum", "nope", "5", "5", "5"])
    assert cli.main(bad) == 2
