"""Muon/SignSVD preconditioning studies: per-mode decay rates and the K = I time rescaling.

Theory: ``docs/theory/muon.md``. ``decay_rates`` compares the Monte Carlo per-mode decay rates of
one update with the drift profiles f_B (SignSVD) and a_B sqrt(m) (SignSGD); ``isotropic_match``
shows that for K = I the two methods differ by a constant rescaling of rate and time.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from optdyn import simulate, theory
from optdyn.optimizers import SignSGD, SignSVD
from optdyn.problems import MatrixRegression
from optdyn.problems.matrix_regression import PowerLawTarget, RandomTarget
from optdyn.problems.spectra import power_law
from optdyn.simulate.moments import update_moments
from optdyn.theory.matrix_profiles import a_B, f_B, kappa0, signsgd_profile

__all__ = ["decay_rates", "isotropic_match"]


def decay_rates(d: int = 128, m: int = 256, alpha: float = 1.0, sigma: float = 0.3,
                svd_batches: tuple[int, ...] = (4, 16, 64), sgd_batches: tuple[int, ...] = (1, 16),
                n_batches: int = 1500) -> xr.Dataset:
    """Per-mode decay rates r_j = E<Delta_j, U_j> sqrt(2R_tot) / rho_j of one update, measured by
    Monte Carlo (:func:`optdyn.simulate.moments.update_moments`) from rho_j = 1 for every mode
    (orthonormal output directions, Haar basis, noise-dominated), with the theory profiles
    f_B(lambda) (SignSVD) and a_B sqrt(m) (Q^T D^(-1/2) Q)_jj lambda_j (SignSGD)."""
    p = MatrixRegression(d, m, eigenvalues=power_law(d, alpha),
                         target=PowerLawTarget(0.0, directions="orthogonal"), sigma=sigma)
    lam = p.eigenvalues
    rows = []
    for meth, bs in (("SignSVD", svd_batches), ("SignSGD", sgd_batches)):
        for b in bs:
            opt = SignSVD(1.0, batch_size=b, method="qr") if meth == "SignSVD" else SignSGD(
                1.0, batch_size=b)
            mc = update_moments(p, opt, n_batches=n_batches, chunk=100)
            th = f_B(lam, b) if meth == "SignSVD" else signsgd_profile(p, b)[0]
            rows.append(xr.Dataset(
                {"rate": ("mode", mc.decay_rate.values), "rate_se": ("mode", (
                    mc.drift_se.values * mc.attrs["s"] / mc.rho.values)),
                 "theory": ("mode", th)},
                coords={"mode": mc.mode.values, "eigenvalue": ("mode", lam)}
            ).expand_dims(case=[f"{meth} B={b}"]).assign_coords(
                optimizer=("case", [meth]), batch_size=("case", [b]),
                kappa0=("case", [kappa0(lam, b) if meth == "SignSVD" else np.nan])))
    ds = xr.concat(rows, dim="case")
    ds.attrs.update(d=d, m=m, alpha=alpha, sigma=sigma, n_batches=n_batches)
    return ds


def isotropic_match(d: int = 128, m: int = 256, batch_size: int = 16, steps: int = 2000,
                    seeds: int = 3, lr_svd: float = 0.05) -> dict:
    """K = I: SignSVD at ``lr_svd`` and SignSGD at the drift-matched rate, run for tau times as
    many steps, have the same risk curve after the time rescaling k -> tau k (docs/theory/muon.md
    section 2.5).

    Template profiles for K = I: SignSVD drift f = f_B(1) (= B / sqrt(d) for B << d), noise
    B / d per mode; SignSGD drift a_B sqrt(m), noise m. Over tau SignSGD steps at lr_sgd =
    lr_svd f / (a_B sqrt(m) tau) the drift equals one SignSVD step's, and the noise does too when
    tau = f^2 d / (a_B^2 B) (= B / a_B^2 for B << d): the methods differ by a constant only."""
    p = MatrixRegression(d, m, target=RandomTarget(math.sqrt(d)), sigma=0.0)
    b = batch_size
    f = float(f_B(np.ones(d), b)[0])
    tau = f * f * d / (a_B(b) ** 2 * b)
    lr_sgd = lr_svd * f / (a_B(b) * math.sqrt(m) * tau)
    svd = simulate.run(p, SignSVD(lr_svd, batch_size=b, method="qr"), steps, seeds=seeds)
    sgd_steps = int(round(tau * steps))
    sgd = simulate.run(p, SignSGD(lr_sgd, batch_size=b), sgd_steps, seeds=seeds)
    th_svd = theory.run(p, SignSVD(lr_svd, batch_size=b), steps)
    th_sgd = theory.run(p, SignSGD(lr_sgd, batch_size=b), sgd_steps)
    # compare SignSGD at steps tau k with SignSVD at k (interpolated in log-log)
    k = svd.step.values[1:]
    r_svd = svd.risk.mean("seed").values[1:]
    r_sgd = np.exp(np.interp(np.log(tau * k), np.log(sgd.step.values[1:]),
                             np.log(sgd.risk.mean("seed").values[1:])))
    # unmatched: SignSGD at the same lr-drift but without the time rescaling
    same_time = np.exp(np.interp(np.log(k), np.log(sgd.step.values[1:]),
                                 np.log(sgd.risk.mean("seed").values[1:])))
    return {"problem": p, "tau": tau, "lr_sgd": lr_sgd, "lr_svd": lr_svd, "svd": svd, "sgd": sgd,
            "th_svd": th_svd, "th_sgd": th_sgd, "k": k, "r_svd": r_svd, "r_sgd_rescaled": r_sgd,
            "r_sgd_same_steps": same_time,
            "gap": float(np.mean(np.abs(r_sgd / r_svd - 1))),
            "gap_unscaled": float(np.mean(np.abs(same_time / r_svd - 1)))}
