"""Mean-field recursions for the sign methods on matrix least squares (docs/theory/muon.md section
2.3, 2.4).

Paquette, Marshall, Benigni, Wang, Agarwala, Paquette, "Phases of Muon: When Muon Eclipses
SignSGD", arXiv 2605.09552; the drift formulas of SignSGD follow Xiao, Marshall, Agarwala,
Paquette, arXiv 2411.12135. Both recursions close the dynamics on an ansatz for the residual
Delta (in K's eigenbasis, Delta = Q (M + F)):

* M (d x m) is the expected residual, tracked in full (the sign methods' drift depends on all of
  Delta, not only on the mode energies);
* F is a fluctuation with independent Gaussian rows of energy phi_j = rho_j - ||M_j||^2 and
  isotropic output directions (what the gradient noise accumulates).

One step of lr gamma = lr(k), with U the update direction (Delta' = Delta - gamma U), uses only
exact identities on the ansatz:

    M' = M - gamma Q^T E[U],   rho_j' = rho_j - 2 gamma E<Delta_j, U_j> + gamma^2 E||U_j||^2,
    phi' = max(rho' - ||M'_j||^2, 0).

Three ways to get the moments:

* ``drift="exact"`` (SignSGD, deterministic, the default up to B = 8; above, ``"auto"`` picks erf,
  because at B = 16 and 64 this recursion's floor comes out 3x too high and worse, a failure
  measured and not yet understood): the exact sign law of a batch mean of B
  Gaussian pairs, E sign(G_ik) = h_B(c_ik) = 2 I_{(1+c)/2}(B/2, B/2) - 1 (incomplete beta;
  (2/pi) arcsin c at B = 1, c at B = 2), averaged over the fluctuation's shared shift (B >= 2)
  and its energy by Gauss-Hermite (:func:`_smoothed_sign`), with a fluctuation energy
  phi_jk per entry (j, k) of the eigenbasis residual: F has independent Gaussian entries, no
  isotropy over outputs. Then M' = M - gamma Q^T E[S] and
  phi_jk' = phi_jk (1 - 2 gamma r_jk) + gamma^2 V_jk (the second-moment identity, kept >= 0),
  with the Stein rate r_jk = lambda_j sum_i Q_ij^2 dE[S_ik]/dmu_ik and V_jk the variance of
  (Q^T S)_jk; for B = 1 E[S_ik S_i'k] = (K_sigma)_ii' exactly, since
  sign(x_i e) sign(x_i' e) = sign(x_i x_i').
* ``drift="erf"`` (SignSGD, kept by name for comparison): with mu = K M, residual variances
  C_kk = (M^T K M)_kk + sum_j lambda_j phi_j / m + sigma^2 and c = mu / sqrt(K_ii C_kk),
  E sign(G_ik) = (2/pi) arcsin(c_ik) (B = 1) or erf(mu_ik / sqrt(2 v_ik))
  with v_ik = (K_ii C_kk + mu_ik^2) / B + tau_ik^2 (1 - 1/B) (B >= 2, Gaussian approximation of
  the batch mean; tau^2 = sum_j lambda_j^2 Q_ij^2 phi_j / m is the variance of the shared shift
  (K F)_ik). Then M' = M - gamma Q^T E[S], and the fluctuation energy per mode obeys
  dphi_j/dk = -2 gamma r_j phi_j + gamma^2 V_j, stepped exactly over one step (an exponential
  integrator: phi stays >= 0 however stiff r is), where by Stein's lemma
  E<F_j, S_j> = r_j phi_j, r_j = (lambda_j / m) sum_i Q_ij^2 sum_k dE[S_ik]/dmu_ik, and
  V_j = E||(Q^T S)_j||^2 - ||(Q^T E S)_j||^2 = sum_i Q_ij^2 sum_k (1 - E[S_ik]^2)
  + m (Q^T (K_sigma - I) Q)_jj mean(1 - E[S]^2), the arcsine law for the off-diagonal
  correlations. The erf form is too slow in the signal-dominated transient at B >= 2: erf
  under-states E sign where |c| is large (0.85 against 0.93 at c = 0.6, B = 8).
* ``drift="mc"`` (SGD without momentum, SignSGD, SignSVD, and Muon with its momentum buffer):
  the moments are averaged over ``n_mc`` draws of (F, mini-batch) pushed through the optimizer's
  own update: the "mean-field Monte Carlo recursion" of docs/theory/muon.md for the signal-dominated
  regime, where SignSVD's linear-response template fails (the polar map saturates).
  Muon's buffer enters the ansatz as Q (M_b + F_b), (F_j, F_bj) jointly Gaussian per mode with
  energies phi_j, psi_j and overlap chi_j (:func:`_mc_momentum_step`). That closure holds where
  label noise dominates (beta = 0.95, sigma = 0.2: 1.3% mean) and fails at sigma = 0 (16% mean,
  the drop to the floor 2.5x too slow). A likely cause, not tested: a Gaussian buffer has the
  wrong singular-value profile for the polar map, where the real buffer is an average of rank-B
  gradients (docs/muon.md).

All are labelled with their regime in the result; the MC form has Monte Carlo error
O(n_mc^(-1/2)) per step.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.scipy.special import erf

from optdyn._core.errors import ConfigError
from optdyn._core.progress import Progress
from optdyn._core.pytree import Representative
from optdyn.optimizers import SGD, Muon, SignSGD, SignSVD
from optdyn.problems.matrix_regression import update_direction
from optdyn.theory.laws.base import is_matrix
from optdyn.theory.matrix_profiles import k_sigma

__all__ = ["run", "solve", "kind_of", "regime", "DRIFTS"]

DRIFTS = ("auto", "exact", "erf", "mc")
#: the largest batch for which drift="auto" picks the exact sign law (see :func:`kind_of`)
EXACT_MAX_BATCH = 8

_REGIME = {
    "erf": ("SignSGD mean-field (docs/theory/muon.md section 2.3): arcsin drift exact for B = 1, "
            "erf drift a "
            "Gaussian approximation for B >= 2; fluctuations closed as Gaussian with isotropic "
            "output directions; any regime (signal- or noise-dominated)"),
    "exact": ("SignSGD mean-field (docs/theory/muon.md section 2.3): the exact sign law of a batch "
              "mean of Gaussian pairs (incomplete beta; arcsin at B = 1) averaged over the "
              "fluctuation's shared shift and its energy; fluctuations closed as independent "
              "Gaussian entries of the eigenbasis residual; signal- or noise-dominated, checked "
              "for B <= 8 (at B = 16 and 64 its floor is 3x too high and worse)"),
    "mc": ("mean-field Monte Carlo (docs/theory/muon.md section 2.4 fallback (a)): moments of the "
           "optimizer's own "
           "update averaged over n_mc draws of (fluctuation, batch) on the ansatz M + F; any "
           "regime, in particular SignSVD's signal-dominated transient; Muon with momentum: "
           "the buffer as a Gaussian M_b + F_b, which holds where label noise dominates and is "
           "16% off on average (the drop to the floor too slow) at sigma = 0"),
}


def _check(problem: Any, opts: list[Any], drift: str, n_mc: Any) -> list[str]:
    if not is_matrix(problem):
        raise ConfigError("problem", "the mean-field recursion is for matrix least squares "
                          "(optdyn.problems.MatrixRegression)")
    if problem.normalize_by_m:
        raise ConfigError("normalize_by_m", "the mean-field recursion is written for the "
                          "unnormalised loss (use normalize_by_m=False)")
    if drift not in DRIFTS:
        raise ConfigError("drift", f"expected one of {DRIFTS}, got {drift!r}")
    if isinstance(n_mc, bool) or not isinstance(n_mc, int) or n_mc < 1:
        raise ConfigError("n_mc", f"must be a positive integer, got {n_mc!r}")
    kinds = []
    for i, o in enumerate(opts):
        where = f"optimizer[{i}]" if len(opts) > 1 else "optimizer"
        kind = kind_of(o, drift)
        if kind in ("erf", "exact") and type(o) is not SignSGD:
            raise ConfigError("drift", f"the {kind} drift is SignSGD's; {where} is "
                              f"{type(o).__name__} (use drift='mc')")
        if type(o) is SGD and not np.all(np.asarray(o.momentum) == 0):
            raise ConfigError(f"{where}.momentum", "the recursion is for memoryless updates: "
                              "momentum must be 0")
        if type(o) is Muon:
            if kind != "mc":
                raise ConfigError("drift", f"{where} is Muon: its recursion is drift='mc'")
        elif type(o) not in (SGD, SignSGD, SignSVD):
            raise ConfigError(where, f"no mean-field recursion for {type(o).__name__}")
        kinds.append(kind)
    return kinds


def _arrays(problem: Any) -> dict[str, Any]:
    lam = np.asarray(problem.eigenvalues, float)
    q = np.eye(problem.d) if problem.basis is None else np.asarray(problem.basis, float)
    cov = (q * lam) @ q.T
    ks = k_sigma(cov)
    np.fill_diagonal(ks, 1.0)
    q2 = q * q
    return {
        "lam": jnp.asarray(lam), "q": jnp.asarray(q), "kdiag": jnp.asarray(np.diag(cov)),
        "q2": jnp.asarray(q2),
        # (Q^T (K_sigma - I) Q)_jj: the off-diagonal arcsine correlations seen by mode j
        "ks_off": jnp.asarray(np.einsum("ij,ik,kj->j", q, ks - np.eye(problem.d), q)),
        # tau_ik^2 = sum_j lambda_j^2 Q_ij^2 phi_j / m: variance of (K F)_ik
        "q2lam2": jnp.asarray(q2 * lam**2),
        "s2": jnp.float64(problem.sigma**2),
    }


# probabilists' Gauss-Hermite rules for E over z ~ N(0, 1): the shift (8 nodes) and the
# fluctuation energy's Wilson-Hilferty variable (4 nodes); more nodes change the curves < 0.2%
_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(8)
_GH_W = _GH_W / np.sqrt(2 * np.pi)
_GC_Z, _GC_W = np.polynomial.hermite_e.hermegauss(4)
_GC_W = _GC_W / np.sqrt(2 * np.pi)


def sign_of_batch_mean(c: jax.Array, b: int) -> tuple[jax.Array, jax.Array]:
    """E[sign(sum_b x_b e_b)] for B i.i.d. standard Gaussian pairs of correlation c, and its
    derivative in c (docs/theory/muon.md section 2.3):

        h_B(c) = 2 I_{(1+c)/2}(B/2, B/2) - 1 = N_B int_0^c (1 - t^2)^(B/2 - 1) dt,
        N_B = 4^(1 - B/2) / Beta(B/2, B/2),

    from x e = ((1+c) U^2 - (1-c) V^2) / 2 with U, V independent standard normals: the sum's sign
    is that of an F(B, B) variable against (1-c)/(1+c). The integral J_p = int_0^c (1-t^2)^p dt,
    p = B/2 - 1, follows J_p = c (1-c^2)^p / (2p+1) + 2p/(2p+1) J_{p-1} down to J_0 = c (B even)
    or J_{-1/2} = arcsin c (B odd): B = 1 is (2/pi) arcsin c, B = 2 is c."""
    c = jnp.clip(c, -1.0, 1.0)
    one_m = jnp.maximum(1.0 - c * c, 0.0)
    p = 0.5 * b - 1.0
    lognorm = (2.0 - b) * math.log(2.0) - (2 * math.lgamma(0.5 * b) - math.lgamma(float(b)))
    if b % 2:
        j, q = jnp.arcsin(c), 0.5
    else:
        j, q = c, 1.0
    while q <= p + 1e-9:
        j = c * one_m**q / (2 * q + 1) + (2 * q / (2 * q + 1)) * j
        q += 1.0
    norm = math.exp(lognorm)
    if b == 1:
        dh = norm / jnp.sqrt(jnp.maximum(one_m, 1e-24))
    else:
        dh = norm * one_m**p
    return norm * j, dh


def _smoothed_sign(km: jax.Array, kd: jax.Array, c_fixed: jax.Array, c_f: jax.Array,
                   nu: jax.Array, tau2: jax.Array, b: int) -> tuple[jax.Array, jax.Array]:
    """E[S_ik] and its derivative in the shift of the mean (docs/theory/muon.md section 2.3).

    Given the fluctuation F the batch is i.i.d. and E[S_ik | F] = h_B(c(F)) exactly
    (:func:`sign_of_batch_mean`). Two features of F are averaged over:

    * B >= 2: the shift (K F)_ik of the covariance of x_i and e_k, N(0, tau^2), is shared by the
      batch (a fraction 1 - 1/B of it beyond what a single sample's noise holds). With the
      residual's variance split into its part along x_i, w^2 / K_ii, and the rest
      K_ii R_perp = K_ii C_kk - mu^2 - tau^2, c(w) = w / sqrt(K_ii R_perp + w^2), w = mu + tau z,
      stays in [-1, 1]; 8-point Gauss-Hermite in z.
    * the fluctuation's share of the residual variance, C_F = sum_j lambda_j F_jk^2, has few
      effective degrees of freedom nu = C_F^2 / sum_j (lambda_j phi_jk)^2 when the risk sits
      in a few modes, and E[h(mu / sqrt(K_ii C))] is not h at the mean C (Jensen). C_F is taken
      as a Gamma variable (mean and variance matched) through Wilson-Hilferty's cube of a
      normal, 4-point Gauss-Hermite (the shift is taken independent of it).
    """
    tau2 = tau2 * (1.0 - 1.0 / b)
    es = jnp.zeros_like(km)
    slope = jnp.zeros_like(km)
    half = 0.5 * nu
    wh = [jnp.maximum(1 - 1 / (9 * half) + z / (3 * jnp.sqrt(half)), 0.0) ** 3 for z in _GC_Z]
    norm = sum(w * f for w, f in zip(_GC_W, wh, strict=True))
    cnodes = [(w, f / norm) for w, f in zip(_GC_W, wh, strict=True)]
    snodes = list(zip(_GH_Z, _GH_W, strict=True)) if b > 1 else [(0.0, 1.0)]
    tau = jnp.sqrt(tau2)
    for wc, u in cnodes:
        ckk = c_fixed + c_f * u
        kr = jnp.maximum(kd * ckk - km * km - tau2, 1e-300)  # K_ii R_perp
        for z, w in snodes:
            x = km + tau * z
            den = jnp.sqrt(kr + x * x)
            h, dh = sign_of_batch_mean(x / den, b)
            es = es + wc * w * h
            slope = slope + wc * w * dh * kr / den**3
    return es, slope


def _relax(phi: jax.Array, r: jax.Array, v: jax.Array, g: jax.Array) -> jax.Array:
    """dphi/dk = -2 g r phi + g^2 V over one step, stepped exactly (an exponential integrator), so
    that a stiff rate (a small residual variance) cannot overshoot phi below 0."""
    x = 2 * g * r
    decay = jnp.exp(-x)
    gain = jnp.where(x > 1e-8, (1 - decay) / jnp.where(x > 1e-8, x, 1.0), 1.0 - x / 2)
    return jnp.maximum(phi * decay + g * g * v * gain, 0.0)


def _erf_step(a: dict, m_t: jax.Array, phi: jax.Array, g: jax.Array, b: int, mdim: int):
    """One step of the SignSGD mean-field recursion with the erf drift (the Gaussian approximation
    of the batch mean; fluctuation energy phi per mode, isotropic over outputs)."""
    lam, q = a["lam"], a["q"]
    km = q @ (lam[:, None] * m_t)  # mu = K M in the original coordinates (d, m)
    m_orig_k = jnp.sum(m_t * lam[:, None] * m_t, axis=0)  # (M^T K M)_kk
    ckk = m_orig_k + jnp.sum(lam * phi) / mdim + a["s2"]
    scale = jnp.sqrt(jnp.maximum(a["kdiag"][:, None] * ckk[None, :], 1e-300))
    if b == 1:
        c = jnp.clip(km / scale, -1 + 1e-12, 1 - 1e-12)
        es = (2 / jnp.pi) * jnp.arcsin(c)
        slope = (2 / jnp.pi) / (jnp.sqrt(1 - c * c) * scale)
    else:
        tau2 = (a["q2lam2"] @ phi / mdim)[:, None]
        v = (scale**2 + km * km) / b + tau2 * (1 - 1 / b)
        v = jnp.maximum(v, 1e-300)
        es = erf(km / jnp.sqrt(2 * v))
        slope = jnp.sqrt(2 / jnp.pi) * jnp.exp(-km * km / (2 * v)) / jnp.sqrt(v)
    es_t = q.T @ es  # Q^T E[S] (d, m)
    var = 1.0 - es * es
    # fluctuation: the Stein rate r_j and the variance V_j of row j of Q^T S
    r = lam * (a["q2"].T @ jnp.sum(slope, axis=1)) / mdim
    v_j = a["q2"].T @ jnp.sum(var, axis=1) + mdim * a["ks_off"] * jnp.mean(var)
    return m_t - g * es_t, _relax(phi, r, v_j, g)


def _exact_step(a: dict, m_t: jax.Array, phi: jax.Array, g: jax.Array, b: int,
                axis: bool = False):
    """One step of the SignSGD mean-field recursion with the exact sign law of a batch
    (:func:`sign_of_batch_mean`) and a fluctuation energy phi_jk per entry of the eigenbasis
    residual (d x m): no isotropy over outputs is assumed. ``axis``: K is diagonal (Q = I,
    K_sigma = I), and the d x d products by Q are skipped."""
    lam, q = a["lam"], a["q"]

    km = lam[:, None] * m_t  # mu = K M in the original coordinates (d, m)
    km = km if axis else q @ km
    lp = lam[:, None] * phi
    c_f = jnp.sum(lp, axis=0)  # the fluctuation's share of C_kk, and its effective dof
    nu = jnp.clip(c_f * c_f / jnp.maximum(jnp.sum(lp * lp, axis=0), 1e-300), 1.0, 1e12)
    c_fixed = jnp.sum(lam[:, None] * m_t * m_t, axis=0) + a["s2"]
    tau2 = lam[:, None] * lp if axis else a["q2lam2"] @ phi
    es, slope = _smoothed_sign(km, a["kdiag"][:, None], c_fixed[None, :], c_f[None, :],
                               nu[None, :], tau2, b)
    es_t = es if axis else q.T @ es
    # Stein: E[F_jk S_ik] = phi_jk lambda_j Q_ij dE[S_ik]/dmu_ik, so r_jk = lambda_j sum_i Q_ij^2
    # slope_ik; V_jk = Var (Q^T S)_jk: the diagonal sum_i Q_ij^2 (1 - E[S_ik]^2), and the
    # off-diagonal correlations (K_sigma)_ii' - E S_ik E S_i'k, exact for B = 1 (sign(x_i e)
    # sign(x_i' e) = sign(x_i x_i')) and scaled by the mean variance over i for B >= 2
    qd = slope if axis else a["q2"].T @ slope  # (Q^T D_k Q)_jj, D_k = diag(slope_.k)
    r = lam[:, None] * qd
    if axis:
        v = 1.0 - es * es
    elif b == 1:
        v = 1.0 + a["ks_off"][:, None] - es_t * es_t
    else:
        var = 1.0 - es * es
        v = a["q2"].T @ var + a["ks_off"][:, None] * jnp.mean(var, axis=0)[None, :]
    # the second-moment identity E|F - g (S - E S)|^2 = phi - 2 g E<F, S> + g^2 V, with Stein's
    # E<F, S> = r phi exact for Gaussian F; not the continuous-time (exponential) step, which
    # under-states the fluctuation of a mode that a step overshoots (g r ~ 1-2: the top mode at
    # a noiseless floor; the Haar floor at B = 8 was 11% low with it)
    return m_t - g * es_t, jnp.maximum(phi * (1.0 - 2.0 * g * r) + g * g * v, 0.0)


def _unit_rows(key: jax.Array, shape: tuple) -> jax.Array:
    z = jax.random.normal(key, shape, jnp.float64)
    return z / jnp.linalg.norm(z, axis=1, keepdims=True)


def _mc_step(problem: Any, parr: dict, a: dict, unit: Any, m_t: jax.Array, phi: jax.Array,
             g: jax.Array, key: jax.Array, n_mc: int, b: int):
    """One step of the mean-field Monte Carlo recursion: n_mc particles M + F pushed through the
    optimizer's update (at unit lr) and projected back onto the ansatz."""
    q = a["q"]
    w_star = parr["w_star64"]

    def one(k):
        kf, kb = jax.random.split(k)
        delta_t = m_t + jnp.sqrt(phi)[:, None] * _unit_rows(kf, m_t.shape)
        w = w_star + q @ delta_t
        # the direction U (Delta' = Delta - g U) in the eigenbasis
        u_t = q.T @ update_direction(problem, parr, unit, w, kb, b)
        return u_t, jnp.sum(delta_t * u_t, axis=1), jnp.sum(u_t * u_t, axis=1)

    u_t, inner, second = jax.lax.map(one, jax.random.split(key, n_mc))
    rho = jnp.sum(m_t * m_t, axis=1) + phi
    rho_new = jnp.maximum(rho - 2 * g * inner.mean(0) + g * g * second.mean(0), 0.0)
    m_new = m_t - g * u_t.mean(0)
    return m_new, jnp.maximum(rho_new - jnp.sum(m_new * m_new, axis=1), 0.0)


def _mc_momentum_step(problem: Any, parr: dict, a: dict, unit: Any, m_t: jax.Array,
                      st: tuple, k: jax.Array, g: jax.Array, key: jax.Array, n_mc: int, b: int):
    """One step of the mean-field Monte Carlo recursion for an optimizer with a momentum buffer
    (Muon): the ansatz is Delta = Q (M + F) and buffer = Q (M_b + F_b), with (F_j, F_bj) per mode
    jointly Gaussian, isotropic over outputs, of energies phi_j, psi_j and overlap chi_j =
    <F_j, F_bj>. n_mc particles are drawn with these exact energies and overlaps, pushed
    through the optimizer's own update with its buffer (at unit lr, step count k), and the new
    means, energies and overlaps are projected back."""
    q = a["q"]
    w_star = parr["w_star64"]
    phi, mb_t, psi, chi = st

    def one(kk):
        k1, k2, kb = jax.random.split(kk, 3)
        z1 = _unit_rows(k1, m_t.shape)
        z2 = _unit_rows(k2, m_t.shape)
        z2 = z2 - jnp.sum(z1 * z2, axis=1, keepdims=True) * z1  # orthogonal to z1, unit rows
        z2 = z2 / jnp.maximum(jnp.linalg.norm(z2, axis=1, keepdims=True), 1e-300)
        sp = jnp.sqrt(phi)
        cb = jnp.where(sp > 0, chi / jnp.where(sp > 0, sp, 1.0), 0.0)
        delta_t = m_t + sp[:, None] * z1
        fb_t = cb[:, None] * z1 + jnp.sqrt(jnp.maximum(psi - cb * cb, 0.0))[:, None] * z2
        w = w_star + q @ delta_t
        u, (_, nbuf) = update_direction(problem, parr, unit, w, kb, b,
                                        (k.astype(jnp.int32), q @ (mb_t + fb_t)))
        return delta_t - g * (q.T @ u), q.T @ nbuf

    new_t, nb_t = jax.lax.map(one, jax.random.split(key, n_mc))
    m_new, mb_new = new_t.mean(0), nb_t.mean(0)
    phi_new = jnp.mean(jnp.sum(new_t * new_t, axis=2), 0) - jnp.sum(m_new * m_new, axis=1)
    psi_new = jnp.mean(jnp.sum(nb_t * nb_t, axis=2), 0) - jnp.sum(mb_new * mb_new, axis=1)
    chi_new = jnp.mean(jnp.sum(new_t * nb_t, axis=2), 0) - jnp.sum(m_new * mb_new, axis=1)
    phi_new, psi_new = jnp.maximum(phi_new, 0.0), jnp.maximum(psi_new, 0.0)
    bound = jnp.sqrt(phi_new * psi_new)
    return m_new, (phi_new, mb_new, psi_new, jnp.clip(chi_new, -bound, bound))


@functools.lru_cache(maxsize=32)
def _compiled_chunk(kind: str, engine_key: tuple, rep: Representative, b: int, n_mc: int
                    ) -> Any:
    """The jitted recursion over steps [lo, hi) for one recursion kind, problem structure, batch
    size and number of draws. Every array (spectrum, basis, target, hyperparameters, the state)
    is an argument, so later calls on a problem of the same structure (another lr, spectrum or
    target of the same shape) reuse the compiled code."""
    problem = rep.obj

    def chunk(a, parr, opt, unit, ck, lo, hi, carry):
        lam, mdim = a["lam"], carry[0].shape[1]

        def body(k, c):
            m_t, phi, buf, rbuf, ptr, key = c
            g = jnp.asarray(opt.lr(k), jnp.float64)
            if kind == "exact":
                m_t, phi = _exact_step(a, m_t, phi, g, b, problem.basis is None)
            elif kind == "erf":
                m_t, phi = _erf_step(a, m_t, phi, g, b, mdim)
            elif isinstance(phi, tuple):  # an optimizer with a momentum buffer
                key, sub = jax.random.split(key)
                m_t, phi = _mc_momentum_step(problem, parr, a, unit, m_t, phi, k, g, sub, n_mc,
                                             b)
            else:
                key, sub = jax.random.split(key)
                m_t, phi = _mc_step(problem, parr, a, unit, m_t, phi, g, sub, n_mc, b)
            energy = phi[0] if isinstance(phi, tuple) else phi
            rho = jnp.sum(m_t * m_t, axis=1) + (energy if energy.ndim == 1 else
                                                 energy.sum(axis=1))
            hit = ck[jnp.minimum(ptr, ck.shape[0] - 1)] == k + 1
            buf = jnp.where(hit, buf.at[ptr].set(0.5 * jnp.sum(lam * rho)), buf)
            rbuf = jnp.where(hit, rbuf.at[ptr].set(rho), rbuf)
            return m_t, phi, buf, rbuf, ptr + hit.astype(ptr.dtype), key

        return jax.lax.fori_loop(lo, hi, body, carry)

    return jax.jit(chunk)


def _curve(problem: Any, opt: Any, kind: str, steps: int, ckpts: np.ndarray, n_mc: int,
           seed: int, bar: Progress, label: str) -> tuple[np.ndarray, np.ndarray]:
    a = _arrays(problem)
    parr = problem.engine_arrays(jnp.float64)
    m0 = jnp.asarray(problem.initial_error_modes, jnp.float64)
    unit = dataclasses.replace(opt, lr=1.0)
    # output steps padded to a power of two with -1 (never reached): horizons of a similar
    # length share one compiled program
    n_ck = ckpts.size
    ck = jnp.asarray(np.concatenate([ckpts, -np.ones(_bucket(n_ck) - n_ck, ckpts.dtype)]))
    lam = a["lam"]
    fn = _compiled_chunk(kind, problem.engine_key(), Representative(problem),
                         int(opt.batch_size), int(n_mc) if kind == "mc" else 0)
    rho0 = jnp.sum(m0 * m0, axis=1)
    buf = jnp.full(ck.shape, jnp.nan).at[0].set(0.5 * jnp.sum(lam * rho0))
    rbuf = jnp.full(ck.shape + rho0.shape, jnp.nan).at[0].set(rho0)
    phi0 = jnp.zeros_like(m0) if kind == "exact" else jnp.zeros_like(rho0)  # per entry / per mode
    if kind == "mc" and _has_buffer(opt):  # fluctuation, buffer mean, buffer energy, overlap
        phi0 = (phi0, jnp.zeros_like(m0), jnp.zeros_like(rho0), jnp.zeros_like(rho0))
    carry = (m0, phi0, buf, rbuf, jnp.asarray(1), jax.random.key(seed))
    task = bar.task(label, steps)
    # about 50 calls over the horizon: progress, and an interrupt, between them
    edges = np.unique(np.linspace(0, steps, min(steps, 50) + 1).round().astype(int))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        carry = fn(a, parr, opt, unit, ck, jnp.asarray(lo), jnp.asarray(hi), carry)
        jax.block_until_ready(carry[2])
        bar.update(task, int(hi))
    return np.asarray(carry[2])[:n_ck], np.asarray(carry[3])[:n_ck]


def _has_buffer(opt: Any) -> bool:
    """Muon carries its momentum buffer through the recursion (beta = 0 included: the buffer is
    then the gradient, and the recursion reduces to the memoryless one)."""
    return type(opt) is Muon


def _bucket(n: int) -> int:
    """The smallest power of two >= n."""
    return 1 << max(0, (n - 1).bit_length())


def solve(problem: Any, opts: list[Any], ckpts: np.ndarray, *, drift: str = "auto",
          n_mc: int = 16, seed: int = 0, progress: bool | None = None
          ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Risk (n, k) and per-mode energies rho (n, k, d) of each config at the output steps
    ``ckpts`` (starting at 0), and the recursion used per config (``"exact"``, ``"erf"`` or
    ``"mc"``).

    Cost per step and config: the erf recursion O(d^2 m) (a few d x d by d x m products); the
    Monte Carlo recursion ``n_mc`` optimizer updates on a fresh batch (O(n_mc (B d m + d^2 m))
    plus the update itself: a Newton-Schulz or SVD polar factor, O(n_mc d m min(d, m)) for
    SignSVD and Muon). Measured on 2 CPU cores, compilation excluded: at d = 64, m = 128 an erf
    step (SignSGD, B = 4) takes 0.2 ms and a Monte Carlo step (SignSVD, B = 16, n_mc = 8) 7 ms;
    at d = 256, m = 512, 13 ms and 0.15 s (4000 steps: about 1 min and 10 min).
    ``progress``: a bar on a terminal, lines every 10 s elsewhere (see
    :mod:`optdyn._core.progress`); the compiled recursion is reused across calls.
    """
    kinds = _check(problem, opts, drift, n_mc)
    steps = int(ckpts[-1])
    risk = np.full((len(opts), ckpts.size), np.nan)
    rho = np.full((len(opts), ckpts.size, problem.d), np.nan)
    long = steps * len(opts) * problem.d ** 2 * problem.m * (n_mc if "mc" in kinds else 1) > 1e11
    with Progress("mean-field", progress, long=long) as bar:
        for i, (o, kind) in enumerate(zip(opts, kinds, strict=True)):
            risk[i], rho[i] = _curve(problem, o, kind, steps, ckpts, n_mc, seed, bar,
                                     f"[{i + 1}/{len(opts)}] {o.label()} ({kind})")
    return risk, rho, kinds


def kind_of(opt: Any, drift: str) -> str:
    """The recursion a config uses: ``drift``, or for ``"auto"``: SignSGD the exact sign law up
    to B = EXACT_MAX_BATCH, where it was checked (24 settings at sigma = 0, docs/muon.md), and the
    erf form above it (at B = 16 and 64 the exact recursion's floor is 3x too high and worse,
    not yet understood; erf is 1.0% mean at B = 16); mc for every other optimizer."""
    if drift != "auto":
        return drift
    if type(opt) is SignSGD:
        return "exact" if int(opt.batch_size) <= EXACT_MAX_BATCH else "erf"
    return "mc"


def regime(kind: str) -> str:
    """Where the recursion ``kind`` is claimed to hold."""
    return _REGIME[kind]


def run(problem: Any, optimizer: Any, steps: int, *, drift: str = "auto", n_mc: int = 16,
        seed: int = 0, points_per_decade: int = 10) -> xr.Dataset:
    """Mean-field risk curves and per-mode energies rho_j = ||q_j^T Delta||^2 of matrix
    optimizers: ``theory.run(problem, optimizer, steps, "mean-field", ...)`` (see
    :class:`optdyn.theory.laws.mean_field.MeanFieldLaw` for the options)."""
    from optdyn.theory.engine import run as theory_run

    return theory_run(problem, optimizer, steps, "mean-field", drift=drift, n_mc=n_mc,
                      seed=seed, points_per_decade=points_per_decade)
