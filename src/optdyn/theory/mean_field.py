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

Two ways to get the moments:

* ``drift="erf"`` (SignSGD, deterministic): with mu = K M, residual variances
  C_kk = (M^T K M)_kk + sum_j lambda_j phi_j / m + sigma^2 and c = mu / sqrt(K_ii C_kk),
  E sign(G_ik) = (2/pi) arcsin(c_ik) (B = 1, exact for Gaussian data) or erf(mu_ik / sqrt(2 v_ik))
  with v_ik = (K_ii C_kk + mu_ik^2) / B + tau_ik^2 (1 - 1/B) (B >= 2, Gaussian approximation of
  the batch mean; tau^2 = sum_j lambda_j^2 Q_ij^2 phi_j / m is the variance of the shared shift
  (K F)_ik). Then M' = M - gamma Q^T E[S], and the fluctuation energy obeys
  dphi_j/dk = -2 gamma r_j phi_j + gamma^2 V_j, stepped exactly over one step (an exponential
  integrator: phi stays >= 0 however stiff r is), where by Stein's lemma
  E<F_j, S_j> = r_j phi_j, r_j = (lambda_j / m) sum_i Q_ij^2 sum_k dE[S_ik]/dmu_ik, and
  V_j = E||(Q^T S)_j||^2 - ||(Q^T E S)_j||^2 = sum_i Q_ij^2 sum_k (1 - E[S_ik]^2)
  + m (Q^T (K_sigma - I) Q)_jj mean(1 - E[S]^2), the arcsine law for the off-diagonal
  correlations.
* ``drift="mc"`` (any memoryless matrix optimizer: SGD, SignSGD, SignSVD, Muon with beta = 0):
  the moments are averaged over ``n_mc`` draws of (F, mini-batch) pushed through the optimizer's
  own update: the "mean-field Monte Carlo recursion" of docs/theory/muon.md for the signal-dominated
  regime, where SignSVD's linear-response template fails (the polar map saturates).

Both are labelled with their regime in the result: the erf form for any regime of SignSGD (exact
drift for B = 1; the fluctuation closure assumes Gaussian, output-isotropic noise); the MC form
for any regime, with Monte Carlo error O(n_mc^(-1/2)) per step.
"""

from __future__ import annotations

import dataclasses
import functools
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

DRIFTS = ("auto", "erf", "mc")

_REGIME = {
    "erf": ("SignSGD mean-field (docs/theory/muon.md section 2.3): arcsin drift exact for B = 1, "
            "erf drift a "
            "Gaussian approximation for B >= 2; fluctuations closed as Gaussian with isotropic "
            "output directions; any regime (signal- or noise-dominated)"),
    "mc": ("mean-field Monte Carlo (docs/theory/muon.md section 2.4 fallback (a)): moments of the "
           "optimizer's own "
           "update averaged over n_mc draws of (fluctuation, batch) on the ansatz M + F; any "
           "regime, in particular SignSVD's signal-dominated transient"),
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
        if kind == "erf" and type(o) is not SignSGD:
            raise ConfigError("drift", f"the erf/arcsin drift is SignSGD's; {where} is "
                              f"{type(o).__name__} (use drift='mc')")
        if type(o) is SGD and not np.all(np.asarray(o.momentum) == 0):
            raise ConfigError(f"{where}.momentum", "the recursion is for memoryless updates: "
                              "momentum must be 0")
        if type(o) is Muon:
            if not np.all(np.asarray(o.beta) == 0) or not np.all(np.asarray(o.weight_decay) == 0):
                raise ConfigError(where, "the recursion is for memoryless updates: Muon needs "
                                  "beta = 0 and weight_decay = 0")
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


def _erf_step(a: dict, m_t: jax.Array, phi: jax.Array, g: jax.Array, b: int, mdim: int):
    """One step of the SignSGD mean-field recursion (erf / arcsin drift)."""
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
    # fluctuation: dphi/dk = -2 g r phi + g^2 V with the Stein rate r_j and the variance V_j of
    # row j of Q^T S; stepped exactly (exponential integrator), so that a stiff rate (a small
    # residual variance) cannot overshoot phi below 0
    r = lam * (a["q2"].T @ jnp.sum(slope, axis=1)) / mdim
    v_j = a["q2"].T @ jnp.sum(var, axis=1) + mdim * a["ks_off"] * jnp.mean(var)
    x = 2 * g * r
    decay = jnp.exp(-x)
    gain = jnp.where(x > 1e-8, (1 - decay) / jnp.where(x > 1e-8, x, 1.0), 1.0 - x / 2)
    return m_t - g * es_t, jnp.maximum(phi * decay + g * g * v_j * gain, 0.0)


def _mc_step(problem: Any, parr: dict, a: dict, unit: Any, m_t: jax.Array, phi: jax.Array,
             g: jax.Array, key: jax.Array, n_mc: int, b: int):
    """One step of the mean-field Monte Carlo recursion: n_mc particles M + F pushed through the
    optimizer's update (at unit lr) and projected back onto the ansatz."""
    q = a["q"]
    w_star = parr["w_star64"]

    def one(k):
        kf, kb = jax.random.split(k)
        z = jax.random.normal(kf, m_t.shape, jnp.float64)
        z = z / jnp.linalg.norm(z, axis=1, keepdims=True)
        delta_t = m_t + jnp.sqrt(phi)[:, None] * z
        w = w_star + q @ delta_t
        # the direction U (Delta' = Delta - g U) in the eigenbasis
        u_t = q.T @ update_direction(problem, parr, unit, w, kb, b)
        return u_t, jnp.sum(delta_t * u_t, axis=1), jnp.sum(u_t * u_t, axis=1)

    u_t, inner, second = jax.lax.map(one, jax.random.split(key, n_mc))
    rho = jnp.sum(m_t * m_t, axis=1) + phi
    rho_new = jnp.maximum(rho - 2 * g * inner.mean(0) + g * g * second.mean(0), 0.0)
    m_new = m_t - g * u_t.mean(0)
    return m_new, jnp.maximum(rho_new - jnp.sum(m_new * m_new, axis=1), 0.0)


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
            if kind == "erf":
                m_t, phi = _erf_step(a, m_t, phi, g, b, mdim)
            else:
                key, sub = jax.random.split(key)
                m_t, phi = _mc_step(problem, parr, a, unit, m_t, phi, g, sub, n_mc, b)
            rho = jnp.sum(m_t * m_t, axis=1) + phi
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
    carry = (m0, jnp.zeros_like(rho0), buf, rbuf, jnp.asarray(1), jax.random.key(seed))
    task = bar.task(label, steps)
    # about 50 calls over the horizon: progress, and an interrupt, between them
    edges = np.unique(np.linspace(0, steps, min(steps, 50) + 1).round().astype(int))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        carry = fn(a, parr, opt, unit, ck, jnp.asarray(lo), jnp.asarray(hi), carry)
        jax.block_until_ready(carry[2])
        bar.update(task, int(hi))
    return np.asarray(carry[2])[:n_ck], np.asarray(carry[3])[:n_ck]


def _bucket(n: int) -> int:
    """The smallest power of two >= n."""
    return 1 << max(0, (n - 1).bit_length())


def solve(problem: Any, opts: list[Any], ckpts: np.ndarray, *, drift: str = "auto",
          n_mc: int = 16, seed: int = 0, progress: bool | None = None
          ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Risk (n, k) and per-mode energies rho (n, k, d) of each config at the output steps
    ``ckpts`` (starting at 0), and the recursion used per config (``"erf"`` or ``"mc"``).

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
    """The recursion a config uses: ``drift``, or for ``"auto"`` erf for SignSGD and mc else."""
    return drift if drift != "auto" else ("erf" if type(opt) is SignSGD else "mc")


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
