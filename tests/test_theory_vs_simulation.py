"""Theory curves against the mean of simulated runs (the acceptance matrix of the theory engine).

For each optimizer law and noise law, on a diagonal power-law covariance and on a correlated
covariance with a non-constant diagonal (D^1/2 Toeplitz(0.5^|i-j|) D^1/2, D log-uniform on
[1/4, 4]; docs/theory/signsgd.md section 7.2), the mean risk of several seeds must follow the
theory curve:
mean relative error <= 5% and maximum <= 15% over the horizon. CI runs d = 300; the ``slow``
check runs d = 1000.
"""

import numpy as np
import pytest
from conftest import acceptance_problem

from optdyn import noise, simulate, theory
from optdyn.optimizers import SGD, ClippedSGD, SignSGD

NOISES = {
    "gaussian": noise.Gaussian(0.5),
    "student_t3": noise.StudentT(3, 0.5),
    "cauchy": noise.Cauchy(0.5),
    "centered_exp": noise.CenteredExponential(0.5),
}
CASES = [("sign", n) for n in NOISES] + [("clip", n) for n in NOISES if n != "centered_exp"] + [
    ("sgd", "gaussian")]


def _problem(cov: str, d: int, nz):
    return acceptance_problem(cov, d, nz)


def _optimizer(kind: str, p):
    d, tr = p.d, p.trace
    if kind == "sign":
        return SignSGD(1.0 / d), 12 * d
    if kind == "clip":
        return ClippedSGD(1.0 / tr, 0.5 * np.sqrt(tr)), int(40 * tr)
    return SGD(0.5 / tr), int(40 * tr)


def compare(kind: str, noise_name: str, cov: str, d: int, seeds: int):
    p = _problem(cov, d, NOISES[noise_name])
    opt, steps = _optimizer(kind, p)
    th = theory.run(p, opt, steps, points_per_decade=12)
    sim = simulate.run(p, opt, steps, seeds=seeds, points_per_decade=12)
    r = th.risk.values
    rel = np.abs(sim.risk.mean("seed").values / r - 1)[1:]
    return rel.mean(), rel.max(), r[0] / r[-1]


@pytest.mark.parametrize("cov", ["diag", "toeplitz"])
@pytest.mark.parametrize("kind,noise_name", CASES)
def test_theory_follows_simulation(kind, noise_name, cov):
    # Cauchy labels make the seed mean noisy: with 6 seeds signSGD's worst checkpoint on the
    # Toeplitz covariance was 15.6% off (3.6 standard errors), with 12 seeds 7.5% (2.3)
    seeds = 12 if noise_name == "cauchy" else 6
    mean, mx, drop = compare(kind, noise_name, cov, d=300, seeds=seeds)
    assert drop > 3.0  # the curve moved: agreement is not the trivial one at R0
    assert mean <= 0.05 and mx <= 0.15, (mean, mx)


@pytest.mark.slow
@pytest.mark.parametrize("cov", ["diag", "toeplitz"])
@pytest.mark.parametrize("kind,noise_name", CASES)
def test_theory_follows_simulation_d1000(kind, noise_name, cov):
    mean, mx, drop = compare(kind, noise_name, cov, d=1000, seeds=4)
    assert drop > 3.0
    assert mean <= 0.05 and mx <= 0.15, (mean, mx)
