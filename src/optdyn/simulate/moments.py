"""Per-mode moments of one optimizer update at a fixed iterate, by Monte Carlo over batches.

For a matrix problem (:class:`optdyn.problems.MatrixRegression`) and an iterate W with residual
Delta = W - W*, one step W' = W - lr U moves the mode energy rho_j = ||q_j^T Delta||^2 by

    E[rho_j'] - rho_j = -2 lr E<q_j^T Delta, q_j^T U> + lr^2 E||q_j^T U||^2,

so the drift ``E<q_j^T Delta, q_j^T U>`` and the noise load ``E||q_j^T U||^2`` are what any
deterministic dynamics must predict (for the normalised template of arXiv 2605.09552,
docs/theory/muon.md eq. (T): drift = g_j rho_j / sqrt(2R) and load = n_j). This module measures
them with the optimizer's own update, the ground truth against which the theory's profiles are
tested, and defines the per-mode decay rate r_j = drift_j sqrt(2R_tot) / rho_j.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn.problems.base import Problem
from optdyn.problems.matrix_regression import update_direction

__all__ = ["update_direction", "update_moments"]


def update_moments(problem: Any, optimizer: Any, w: Any = None, *, n_batches: int = 1000,
                   seed: int = 0, chunk: int = 50) -> xr.Dataset:
    """Monte Carlo per-mode drift and noise load of one update at the iterate ``w``.

    Args:
        problem: a MatrixRegression.
        optimizer: a memoryless matrix optimizer (SGD, SignSGD, SignSVD, Muon with beta = 0); its
            learning rate is ignored (the moments are those of the direction U).
        w: the iterate (default: the problem's start W0).
        n_batches: number of independent batches averaged (rounded up to whole chunks).
        seed: random seed of the batches.
        chunk: batches per compiled ``lax.map`` call.

    Returns:
        Dataset over ``mode`` (with the coordinate ``eigenvalue``) holding ``drift``
        E<Delta_j, U_j>, its standard error ``drift_se``, ``noise_load`` E||U_j||^2, ``rho``, and
        ``decay_rate`` r_j = drift_j sqrt(2R + m sigma^2) / rho_j; attrs ``s`` = sqrt(2R + m
        sigma^2) and the batch size.
    """
    if not (isinstance(problem, Problem) and len(tuple(problem.param_shape)) == 2):
        raise ConfigError("problem", "update_moments needs a matrix problem (MatrixRegression)")
    if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 2:
        raise ConfigError("n_batches", f"must be an integer >= 2, got {n_batches!r}")
    w = np.asarray(problem.w0 if w is None else w, dtype=float)
    if w.shape != (problem.d, problem.m):
        raise ConfigError("w", f"has shape {w.shape}, expected ({problem.d}, {problem.m})")
    arrays = problem.engine_arrays(jnp.float64)
    unit = dataclasses.replace(optimizer, lr=1.0)
    b = int(optimizer.batch_size)
    q = jnp.asarray(np.eye(problem.d) if problem.basis is None else problem.basis)
    delta_t = q.T @ (jnp.asarray(w) - arrays["w_star64"])
    wj = jnp.asarray(w)

    @jax.jit
    def block(keys):
        def one(k):
            u_t = q.T @ update_direction(problem, arrays, unit, wj, k, b)
            return jnp.sum(delta_t * u_t, axis=1), jnp.sum(u_t * u_t, axis=1)

        dr, ld = jax.lax.map(one, keys)
        return dr.sum(0), (dr * dr).sum(0), ld.sum(0)

    chunk = max(1, min(int(chunk), n_batches))
    n_calls = -(-n_batches // chunk)  # n_batches rounded up to whole chunks: all are used
    keys = jax.random.split(jax.random.key(seed), n_calls * chunk).reshape(n_calls, chunk)
    s1 = s2 = s3 = 0.0
    for i in range(n_calls):
        b1, b2, b3 = block(keys[i])
        s1, s2, s3 = s1 + b1, s2 + b2, s3 + b3
    n = n_calls * chunk
    drift = np.asarray(s1) / n
    var = np.maximum(np.asarray(s2) / n - drift**2, 0.0)
    rho = np.asarray(jnp.sum(delta_t * delta_t, axis=1))
    s_tot = float(np.sqrt(np.sum(problem.eigenvalues * rho) + problem.noise_second_moment))
    ds = xr.Dataset(
        {"drift": ("mode", drift), "drift_se": ("mode", np.sqrt(var / (n - 1))),
         "noise_load": ("mode", np.asarray(s3) / n), "rho": ("mode", rho),
         "decay_rate": ("mode", drift * s_tot / np.where(rho > 0, rho, np.nan))},
        coords={"mode": np.arange(1, problem.d + 1),
                "eigenvalue": ("mode", np.asarray(problem.eigenvalues, float))})
    ds.attrs.update(s=s_tot, batch_size=b, n_batches=n, optimizer=optimizer.label())
    return ds

