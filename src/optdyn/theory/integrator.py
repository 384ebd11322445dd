"""The one mode-ODE integrator used by every optimizer law.

Every deterministic risk curve of optdyn's regression theories has the form (Paquette et al.
arXiv 2206.07252 for SGD, Marshall et al. arXiv 2406.11733 for C-SGD's ODE, Xiao et al. arXiv
2411.12135 section 4 for signSGD; docs/theory/clipping.md section A.5, docs/theory/signsgd.md
section 4.2), in per-step time k (k = number of optimizer steps):

    dv_j/dk = -alpha(k, R) m_j v_j + beta(k, R) n_j,      R(k) = sum_j w_j v_j,

with alpha = 2 lr(k) a(R) and beta = lr(k)^2 b(R) / 2; the law supplies the drift spectrum m, the
noise loads n, the risk weights w and the scalar functions. Scheme: in the intrinsic time
tau = int alpha dk the linear part has constant coefficients, dv_j/dtau = -m_j v_j + f n_j with
f = beta / alpha, and one step of h steps (tau_1 = h (alpha_0 + alpha_1) / 2) is

    v' = v e^{-x} + tau_1 n [f_0 phi1(x) + (f_1 - f_0) psi(x)],    x = tau_1 m,

exact for f linear in tau, with phi1(x) = (1 - e^{-x}) / x, psi(x) = (x - 1 + e^{-x}) / x^2. The
end-point coefficients come from a predictor (alpha, f extrapolated linearly from the previous
step) and a corrector that solves R_1 = R(v'(R_1)) implicitly by a Newton step (the feedback of R
through fast modes is stiff). The linear part is integrated exactly, so the scheme is
unconditionally stable for stiff spectra spanning any number of decades, stiff modes sit exactly
on their quasi-equilibrium f n / m, and v stays >= 0. Both stages are second order; the step size
is chosen by error control on the corrector's local error estimated by Milne's device,
sum_j w_j |v^c - v^p| / 6 <= atol + rtol R, and lands exactly on the requested output steps, so
the grid becomes geometric on geometric output grids. Cost: O(modes) per step; one compiled
``while_loop`` per config, vmapped over configs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["integrate", "phi1", "psi"]

_SMALL = 0.1  # below it phi1 and psi come from their Taylor series (error < 1e-12 relative)


def _series(x: jax.Array, first: int) -> jax.Array:
    """sum_{i>=0} (-x)^i / (i + first)!, to x^8 (the Taylor series of phi1 and psi)."""
    out = jnp.zeros_like(x)
    fact = [1.0]
    for i in range(1, 11):
        fact.append(fact[-1] * i)
    for i in range(8, -1, -1):
        out = out * (-x) + 1.0 / fact[i + first]
    return out


def _phis(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """e^{-x}, phi1(x) and psi(x) from one exponential."""
    e = jnp.exp(-x)
    small = x < _SMALL
    xs = jnp.where(small, 1.0, x)
    p1 = jnp.where(small, _series(x, 1), (1.0 - e) / xs)
    p2 = jnp.where(small, _series(x, 2), (xs - 1.0 + e) / (xs * xs))
    return e, p1, p2


def phi1(x: jax.Array) -> jax.Array:
    """(1 - e^{-x}) / x, with its series near 0."""
    return _phis(x)[1]


def psi(x: jax.Array) -> jax.Array:
    """(x - 1 + e^{-x}) / x^2 = int_0^1 u e^{-x (1 - u)} du, with its series near 0."""
    return _phis(x)[2]


def _ratio(b: jax.Array, a: jax.Array) -> jax.Array:
    """beta / alpha, 0 where alpha = 0 (a zero learning rate: the step does nothing)."""
    return jnp.where(a > 0, b / jnp.where(a > 0, a, 1.0), 0.0)


def _advance(v, m, n, tau, f0, f1):
    """Exact step of dv/dtau = -m v + f(tau) n over tau in [0, tau1], f linear from f0 to f1."""
    e, p1, p2 = _phis(tau * m)
    return v * e + tau * n * (f0 * p1 + (f1 - f0) * p2)


@functools.lru_cache(maxsize=64)
def _compiled(coeff: Callable, n_ckpt: int) -> Callable:
    """The jitted, config-vmapped integrator for one coefficient function."""

    def one(params, w, m, n, v0, ckpts, rtol, atol, max_substeps, threshold):
        r0 = jnp.sum(w * v0)
        buf = jnp.full((n_ckpt,), jnp.nan).at[0].set(r0)

        def cond(c):
            return (c[4] < n_ckpt) & (c[7] == 0)

        def body(c):
            k, h, v, r, ptr, buf, n_sub, status, a_prev, f_prev, h_prev = c
            target = ckpts[ptr]
            hs = jnp.minimum(h, target - k)
            a0, b0 = coeff(k, r, params)
            f0 = _ratio(b0, a0)
            # predictor: coefficients extrapolated linearly from the last accepted step
            slope = hs / h_prev
            a1e = jnp.maximum(a0 + (a0 - a_prev) * slope, 0.0)
            f1e = jnp.maximum(f0 + (f0 - f_prev) * slope, 0.0)
            vp = _advance(v, m, n, 0.5 * hs * (a0 + a1e), f0, f1e)
            rp = jnp.sum(w * vp)

            # corrector: coefficients at the end point, with the end-point risk solved
            # implicitly, R1 = R(v(alpha(R1), beta(R1))), by one Newton step from the
            # predictor: the feedback of R through fast modes is stiff
            def end_state(r1):
                a1, b1 = coeff(k + hs, r1, params)
                vv = _advance(v, m, n, 0.5 * hs * (a0 + a1), f0, _ratio(b1, a1))
                return jnp.sum(w * vv), vv

            (phi, vv), (dphi, dvv) = jax.jvp(end_state, (rp,), (jnp.ones_like(rp),))
            den = 1.0 - dphi
            r1 = jnp.where(jnp.abs(den) > 1e-8, rp - (rp - phi) / den, phi)
            # the modes at the Newton point, to first order from the same pass
            vc = jnp.maximum(vv + dvv * (r1 - rp), 0.0)
            rc = jnp.sum(w * vc)
            # Milne's device: both are second order, the corrector's local error is about
            # 1/6 of their difference (error constants -1/12 and 5/12)
            # (a state that stays exactly zero, e.g. R0 = 0 without noise, has no error)
            num = jnp.sum(w * jnp.abs(vc - vp))
            err = jnp.where(num == 0, 0.0, num / (6.0 * (atol + rtol * rc)))
            err = jnp.where(jnp.isfinite(err), err, jnp.inf)
            ok = err <= 1.0
            fac = jnp.clip(0.9 * jnp.maximum(err, 1e-12) ** (-1.0 / 3.0), 0.2, 5.0)
            # only a full step may grow the proposal: a step cut short by an output point says
            # nothing about larger steps
            h_new = jnp.where(ok & (hs < h), h, hs * fac)
            reach = h >= target - k
            a_prev = jnp.where(ok, a0, a_prev)
            f_prev = jnp.where(ok, f0, f_prev)
            h_prev = jnp.where(ok, hs, h_prev)
            k = jnp.where(ok, jnp.where(reach, target, k + hs), k)
            v = jnp.where(ok, vc, v)
            r = jnp.where(ok, rc, r)
            hit = ok & (k >= target)
            buf = jnp.where(hit, buf.at[ptr].set(r), buf)
            ptr = ptr + hit.astype(ptr.dtype)
            n_sub = n_sub + 1
            bad = ok & (~jnp.isfinite(r) | (r > threshold))
            status = jnp.where(bad, 1, jnp.where(n_sub >= max_substeps, 2, 0))
            # an exhausted error control (a step below 1e-12 steps) is a failure, not a hang
            status = jnp.where((status == 0) & (h_new < 1e-12), 2, status)
            return k, h_new, v, r, ptr, buf, n_sub, status, a_prev, f_prev, h_prev

        h0 = jnp.minimum(1.0, ckpts[1] - ckpts[0]) if n_ckpt > 1 else jnp.asarray(1.0)
        a_init, b_init = coeff(ckpts[0], r0, params)  # first predictor: frozen coefficients
        init = (ckpts[0], h0, v0, r0, jnp.asarray(1), buf, jnp.asarray(0), jnp.asarray(0),
                a_init, _ratio(b_init, a_init), h0)
        k, h, v, r, ptr, buf, n_sub, status, *_ = jax.lax.while_loop(cond, body, init)
        # after a divergence the risk is infinite from the first checkpoint not reached
        buf = jnp.where((status == 1) & (jnp.arange(n_ckpt) >= ptr), jnp.inf, buf)
        return buf, status, n_sub, v

    over = jax.vmap(one, in_axes=(0, None, None, None, None, None, None, None, None, None))
    return jax.jit(over)


def integrate(
    coeff: Callable[[jax.Array, jax.Array, Any], tuple[jax.Array, jax.Array]],
    params: Any,
    weights: Any,
    drift: Any,
    loads: Any,
    v0: Any,
    ckpts: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    max_substeps: int = 1_000_000,
    threshold: float = float("inf"),
) -> tuple[Any, Any, Any, Any]:
    """Integrate ``dv_j/dk = -alpha m_j v_j + beta n_j`` for a stack of configs.

    Args:
        coeff: ``coeff(k, R, p) -> (alpha, beta)`` for one config's parameters ``p`` (a pytree);
            a module-level function, so that its compiled integrator is cached.
        params: the configs' parameters, stacked along a leading axis.
        weights, drift, loads, v0: the mode arrays w, m, n and v(0), shared by the configs.
        ckpts: increasing float step counts at which R is recorded (the first is the start).
        rtol, atol: local error tolerance on R per step.
        max_substeps: cap on the number of steps per config.
        threshold: R above it (or non-finite) stops the config as diverged.

    Returns:
        ``(risk, status, n_substeps, v_final)``: risk (configs, checkpoints) float64 (inf after a
        divergence, NaN where never reached); status 0 ok, 1 diverged, 2 step limit or failed
        error control; the number of steps taken; the final modes.
    """
    f64 = jnp.float64
    ck = jnp.asarray(ckpts, f64)
    fn = _compiled(coeff, int(ck.shape[0]))
    return fn(params, jnp.asarray(weights, f64), jnp.asarray(drift, f64),
              jnp.asarray(loads, f64), jnp.asarray(v0, f64), ck, f64(rtol), f64(atol),
              jnp.asarray(max_substeps), f64(threshold))
