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

Compiled programs (:func:`_dispatch`). The mode arrays are padded to a shape bucket
(:func:`bucket`: sizes 2^(j/2), at most 41% padding; padded modes have zero weight and state, so
they never enter R or the error) and the checkpoint grid likewise (points after the last real
one are never visited), so problems of one law and size class share one compiled program; the
configs run in chunks of :func:`lanes` configs per call (lanes x modes <= 2^17, so the per-step
passes over the state stay in cache), and the traced program is kept on disk across processes
(:mod:`optdyn._core.programs`).

Block modes (:func:`integrate_block`). A law whose modes carry a small state each (size s = 1 to
3: position error, momentum and their cross term for momentum methods) gives

    dv_j/dk = A_j(k) v_j + l_j(k) f(k, R),      R = sum_j <w_j, v_j>,

a per-mode s x s drift matrix and load vector and one scalar feedback of the risk. One step of h
steps freezes the drift at its trapezoid average Abar = (A_j(k) + A_j(k + h)) / 2 (second order,
exact for a constant drift) and takes the forcing g = l f linear in k:

    v' = e^X v + h [phi1(X) g_0 + phi2(X) (g_1 - g_0)],    X = h Abar,

with phi1(X) = int_0^1 e^{sX} ds and phi2(X) = int_0^1 (1 - s) e^{sX} ds by scaling and
squaring per mode (:func:`block_phis`): exact in the linear part, hence as stiff-safe as the
scalar scheme. The step control is the scalar one (:func:`_loop`): the
predictor extrapolates the end-point risk linearly from the last step, the corrector solves it by
a Newton step, Milne's device estimates the error. For s = 1 with a constant drift -m and load n
this is the scalar scheme at a constant alpha (equal to rounding).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core import programs

__all__ = ["integrate", "integrate_block", "block_phis", "phi1", "psi", "bucket", "lanes"]

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


_TAYLOR = 14  # terms of the series at a norm <= 1/2 (truncation below 1e-16 relative)


def _matmul(a: list, b: list) -> list:
    """Product of two small matrices given as nested lists of per-mode arrays: written out
    as s^3 multiply-adds that XLA fuses into one pass over the modes (about 6x faster than a
    batched dot for s = 3)."""
    s = len(a)
    return [[sum(a[i][j] * b[j][k] for j in range(s)) for k in range(s)] for i in range(s)]


def _unpack(x: jax.Array) -> list:
    return [[x[..., i, j] for j in range(x.shape[-1])] for i in range(x.shape[-2])]


def _pack(m: list) -> jax.Array:
    return jnp.stack([jnp.stack(row, -1) for row in m], -2)


def block_phis(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """e^X, phi1(X) = int_0^1 e^{sX} ds and phi2(X) = int_0^1 (1 - s) e^{sX} ds for a stack of
    small square matrices X (..., s, s).

    Scaling and squaring: each matrix is scaled by 2^-n to norm <= 1/2 (n per matrix), the three
    Taylor series sum_i Y^i / (i + k)! (k = 0, 1, 2) are summed by Horner, and n doublings
    e^{2Y} = (e^Y)^2, phi1(2Y) = (phi1 + e^Y phi1) / 2, phi2(2Y) = (phi1 + phi2 + e^Y phi2) / 4
    undo the scaling (the doublings follow from splitting the integrals at s = 1/2). A
    decaying (stiff) block stays bounded through the doublings."""
    s = x.shape[-1]
    xs = _unpack(x)
    norm = functools.reduce(jnp.maximum, [sum(jnp.abs(v) for v in row) for row in xs])
    n = jnp.clip(jnp.ceil(jnp.log2(jnp.maximum(norm, 1e-300) / 0.5)), 0, 1000)
    scale = jnp.exp2(-n)
    y = [[v * scale for v in row] for row in xs]
    one, zero = jnp.ones_like(norm), jnp.zeros_like(norm)
    eye = [[one if i == j else zero for j in range(s)] for i in range(s)]
    fact = [1.0]
    for i in range(1, _TAYLOR + 3):
        fact.append(fact[-1] * i)
    series = []
    for k in range(3):
        acc = [[v / fact[_TAYLOR + k] for v in row] for row in eye]
        for i in range(_TAYLOR - 1, -1, -1):
            prod = _matmul(y, acc)
            acc = [[eye[r][c] / fact[i + k] + prod[r][c] for c in range(s)] for r in range(s)]
        series.append(_pack(acc))

    def double(i, c):
        e, p1, p2 = c
        on = (i < n)[..., None, None]
        el = _unpack(e)
        e2 = _pack(_matmul(el, el))
        q1 = 0.5 * (p1 + _pack(_matmul(el, _unpack(p1))))
        q2 = 0.25 * (p1 + p2 + _pack(_matmul(el, _unpack(p2))))
        return (jnp.where(on, e2, e), jnp.where(on, q1, p1), jnp.where(on, q2, p2))

    return jax.lax.fori_loop(0, jnp.max(n).astype(jnp.int32), double, tuple(series))


def _mv(a: jax.Array, v: jax.Array) -> jax.Array:
    """Per-mode matrix times vector: (modes, s, s) x (modes, s)."""
    return jnp.sum(a * v[..., None, :], axis=-1)


class _Scheme(NamedTuple):
    """How one step advances the modes; the step control around it is shared (:func:`_loop`).

    ``start(k, hs, v, r, memo) -> ctx`` precomputes what both stages share; ``predict(ctx, v,
    r, memo, slope) -> v_p`` is the predictor; ``end(ctx, v, r1) -> v`` the state at the step's
    end given the end-point risk r1 (differentiated for the corrector's Newton step);
    ``end(ctx, v, r1) -> v`` the state at the step's end given the end-point risk r1
    (differentiated for the corrector's Newton step); ``finish(v)`` projects the corrected state
    (v >= 0 for scalar modes); ``memo(ctx, r)`` what the next predictor extrapolates from."""

    start: Callable
    predict: Callable
    end: Callable
    finish: Callable
    memo: Callable
    memo0: Callable


def _scalar_scheme(coeff: Callable, params: Any, m: Any, n: Any) -> _Scheme:
    """Scalar modes in intrinsic time: dv/dtau = -m v + f n, f = beta / alpha."""

    def start(k, hs, v, r, memo):
        a0, b0 = coeff(k, r, params)
        return k, hs, a0, _ratio(b0, a0)

    def predict(ctx, v, r, memo, slope):
        # coefficients extrapolated linearly from the last accepted step
        k, hs, a0, f0 = ctx
        a_prev, f_prev = memo
        a1e = jnp.maximum(a0 + (a0 - a_prev) * slope, 0.0)
        f1e = jnp.maximum(f0 + (f0 - f_prev) * slope, 0.0)
        return _advance(v, m, n, 0.5 * hs * (a0 + a1e), f0, f1e)

    def end(ctx, v, r1):
        k, hs, a0, f0 = ctx
        a1, b1 = coeff(k + hs, r1, params)
        return _advance(v, m, n, 0.5 * hs * (a0 + a1), f0, _ratio(b1, a1))

    def memo0(k, r):
        a, b = coeff(k, r, params)  # first predictor: frozen coefficients
        return a, _ratio(b, a)

    return _Scheme(start, predict, end, lambda v: jnp.maximum(v, 0.0),
                   lambda ctx, r: (ctx[2], ctx[3]), memo0)


def _block_scheme(block: Callable, feedback: Callable, params: Any, data: Any) -> _Scheme:
    """Block modes: dv_j/dk = A_j(k) v_j + l_j(k) f(k, R), the linear part exact (its drift
    averaged over the step), the forcing l f linear in k over the step."""

    def start(k, hs, v, r, memo):
        a0, l0 = block(k, params, data)
        a1, l1 = block(k + hs, params, data)
        e, p1, p2 = block_phis(0.5 * hs * (a0 + a1))
        g0 = l0 * feedback(k, r, params)
        return k, hs, e, p1, p2, g0, l1

    def _at(ctx, v, f1):
        k, hs, e, p1, p2, g0, l1 = ctx
        return _mv(e, v) + hs * (_mv(p1, g0) + _mv(p2, l1 * f1 - g0))

    def predict(ctx, v, r, memo, slope):
        # the end-point risk extrapolated linearly from the last accepted step
        return _at(ctx, v, feedback(ctx[0] + ctx[1], r + (r - memo) * slope, params))

    def end(ctx, v, r1):
        return _at(ctx, v, feedback(ctx[0] + ctx[1], r1, params))

    return _Scheme(start, predict, end, lambda v: v, lambda ctx, r: r, lambda k, r: r)


def _loop(scheme: _Scheme, w, v0, ckpts, n_out, rtol, atol, max_substeps, threshold):
    """Adaptive steps of one scheme from ckpts[0] to ckpts[n_out - 1], R recorded at each.

    ``ckpts`` may be longer than ``n_out`` (a padded, shape-bucketed grid): the points after
    the ``n_out``-th are never visited and their risk stays NaN.

    The predictor and the corrector (the end-point risk R_1 = R(v(R_1)) solved by one Newton
    step from the predictor: the feedback of R through fast modes is stiff) are both second
    order; Milne's device takes the corrector's local error as 1/6 of their difference."""
    n_ckpt = ckpts.shape[0]
    r0 = jnp.sum(w * v0)
    buf = jnp.full((n_ckpt,), jnp.nan).at[0].set(r0)

    def cond(c):
        return (c[4] < n_out) & (c[7] == 0)

    def body(c):
        k, h, v, r, ptr, buf, n_sub, status, memo, h_prev = c
        target = ckpts[ptr]
        hs = jnp.minimum(h, target - k)
        ctx = scheme.start(k, hs, v, r, memo)
        vp = scheme.predict(ctx, v, r, memo, hs / h_prev)
        rp = jnp.sum(w * vp)

        def end_state(r1):
            vv = scheme.end(ctx, v, r1)
            return jnp.sum(w * vv), vv

        (phi, vv), (dphi, dvv) = jax.jvp(end_state, (rp,), (jnp.ones_like(rp),))
        den = 1.0 - dphi
        r1 = jnp.where(jnp.abs(den) > 1e-8, rp - (rp - phi) / den, phi)
        # the modes at the Newton point, to first order from the same pass
        vc = scheme.finish(vv + dvv * (r1 - rp))
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
        memo = jax.tree_util.tree_map(lambda new, old: jnp.where(ok, new, old),
                                      scheme.memo(ctx, r), memo)
        h_prev = jnp.where(ok, hs, h_prev)
        k = jnp.where(ok, jnp.where(reach, target, k + hs), k)
        v = jnp.where(ok, vc, v)
        r = jnp.where(ok, rc, r)
        hit = ok & (k >= target)
        buf = jnp.where(hit, buf.at[ptr].set(r), buf)
        ptr = ptr + hit.astype(ptr.dtype)
        n_sub = n_sub + 1
        # (|R|: an unstable block system can blow up through negative values in rounding)
        bad = ok & (~jnp.isfinite(r) | (jnp.abs(r) > threshold))
        status = jnp.where(bad, 1, jnp.where(n_sub >= max_substeps, 2, 0))
        # an exhausted error control (a step below 1e-12 steps) is a failure, not a hang
        status = jnp.where((status == 0) & (h_new < 1e-12), 2, status)
        return k, h_new, v, r, ptr, buf, n_sub, status, memo, h_prev

    h0 = jnp.minimum(1.0, ckpts[1] - ckpts[0]) if n_ckpt > 1 else jnp.asarray(1.0)
    h0 = jnp.where(n_out > 1, h0, 1.0)
    init = (ckpts[0], h0, v0, r0, jnp.asarray(1), buf, jnp.asarray(0), jnp.asarray(0),
            scheme.memo0(ckpts[0], r0), h0)
    k, h, v, r, ptr, buf, n_sub, status, *_ = jax.lax.while_loop(cond, body, init)
    # after a divergence the risk is infinite from the first checkpoint not reached
    buf = jnp.where((status == 1) & (jnp.arange(n_ckpt) >= ptr), jnp.inf, buf)
    return buf, status, n_sub, v


@functools.lru_cache(maxsize=64)
def _compiled(coeff: Callable) -> Callable:
    """The jitted, config-vmapped integrator for one coefficient function (scalar modes); jit
    compiles it once per shape bucket (:func:`_dispatch`)."""

    def one(params, w, m, n, v0, ckpts, n_out, rtol, atol, max_substeps, threshold):
        return _loop(_scalar_scheme(coeff, params, m, n), w, v0, ckpts, n_out, rtol, atol,
                     max_substeps, threshold)

    over = jax.vmap(one, in_axes=(0,) + (None,) * 10)
    return jax.jit(over)


@functools.lru_cache(maxsize=64)
def _compiled_block(block: Callable, feedback: Callable) -> Callable:
    """The jitted, config-vmapped integrator for one block law (block modes)."""

    def one(params, data, w, v0, ckpts, n_out, rtol, atol, max_substeps, threshold):
        return _loop(_block_scheme(block, feedback, params, data), w, v0, ckpts, n_out, rtol,
                     atol, max_substeps, threshold)

    over = jax.vmap(one, in_axes=(0,) + (None,) * 9)
    return jax.jit(over)


def bucket(n: int, least: int = 16) -> int:
    """The shape bucket of a size n: the smallest of least, and the sizes 2^(j/2) rounded up
    to a multiple of 8, that holds n (at most 41% padding). Problems whose mode and
    checkpoint counts fall in one bucket share one compiled integrator."""
    b = least
    j = 2 * max(int(np.log2(least)), 0)
    while b < n:
        j += 1
        b = max(b, -(-int(np.ceil(2.0 ** (j / 2))) // 8) * 8)
    return b


_LANE_FLOATS = 1 << 17  # modes x configs per compiled call: the state stays in cache


def lanes(n_configs: int, n_modes: int) -> int:
    """Configs per compiled call: a power of two with lanes x modes <= 2^17 (1 MiB per
    float64 state array, so the per-step passes stay in the CPU's cache instead of streaming
    from memory), at least 1, at most the next power of two of n_configs. Chunks of
    neighbouring configs (a learning-rate grid is sorted) also take similar numbers of steps,
    so few lanes idle while the slowest of a chunk finishes."""
    cap = max(1, 1 << int(np.floor(np.log2(max(_LANE_FLOATS // max(n_modes, 1), 1)))))
    want = 1 << int(np.ceil(np.log2(max(n_configs, 1))))
    return int(min(cap, want))


def _pad_modes(x: Any, n_modes: int, size: int, fill: float | None) -> Any:
    """Pad a per-mode array (leading axis = modes) to size: with ``fill`` (weights and initial
    states: 0, so the padding never enters R or the error), or by repeating the last mode
    (drift, loads, mode data: finite and of the problem's own scale)."""
    x = np.asarray(x, np.float64)
    if x.ndim == 0 or x.shape[0] != n_modes or size == n_modes:
        return x
    extra = size - n_modes
    if fill is None:
        tail = np.broadcast_to(x[-1:], (extra,) + x.shape[1:])
    else:
        tail = np.full((extra,) + x.shape[1:], fill)
    return np.concatenate([x, tail])


def _dispatch(name: str | None, fn: Callable, params: Any, shared: tuple, ckpts: Any,
              scalars: tuple, n_modes: int) -> tuple[Any, Any, Any, Any]:
    """Run a compiled integrator over the configs in chunks of :func:`lanes` configs, the
    checkpoint grid padded to its :func:`bucket` (repeating the last point), and stitch the
    results back to (configs, checkpoints). The program is kept on disk under ``name``
    (:func:`optdyn._core.programs.call`): a later process loads it instead of tracing."""
    ck = np.asarray(ckpts, np.float64)
    n_out = int(ck.shape[0])
    ck = np.concatenate([ck, np.full(bucket(n_out) - n_out, ck[-1])])
    leaves, treedef = jax.tree_util.tree_flatten(params)
    n_cfg = int(np.shape(leaves[0])[0]) if leaves else 1
    width = lanes(n_cfg, n_modes)
    total = -(-n_cfg // width) * width
    idx = np.minimum(np.arange(total), n_cfg - 1)
    # indexed on the host and handed over as device arrays (no eager JAX op, and device
    # arrays skip the optimizers' input checks when the pytree is rebuilt)
    host = [np.asarray(x)[idx] for x in leaves]
    outs = []
    for start in range(0, total, width):
        chunk = jax.tree_util.tree_unflatten(
            treedef, [jax.device_put(x[start:start + width]) for x in host])
        outs.append(programs.call(name, fn, chunk, *shared, ck, np.int64(n_out), *scalars))
    risk, status, n_sub, v = (np.concatenate([np.asarray(o[i]) for o in outs])[:n_cfg]
                              for i in range(4))
    return risk[:, :n_out], status, n_sub, v[:, :n_modes]


def _name(kind: str, *fns: Callable) -> str | None:
    """The kept-program name of an integrator for these law functions (None: not kept)."""
    names = [programs.function_name(f) for f in fns]
    return None if None in names else ":".join([kind, *names])


def _scalars(rtol: float, atol: float, max_substeps: int, threshold: float) -> tuple:
    # NumPy scalars: handing them to the jitted function costs no eager JAX operation
    f64 = np.float64
    return f64(rtol), f64(atol), np.int64(max_substeps), f64(threshold)


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
        weights: the mode array w, shared by the configs.
        drift: the mode array m, shared by the configs.
        loads: the mode array n, shared by the configs.
        v0: the mode array v(0), shared by the configs.
        ckpts: increasing float step counts at which R is recorded (the first is the start).
        rtol: relative local error tolerance on R per step.
        atol: absolute local error tolerance on R per step.
        max_substeps: cap on the number of steps per config.
        threshold: R above it (or non-finite) stops the config as diverged.

    Returns:
        ``(risk, status, n_substeps, v_final)``: risk (configs, checkpoints) float64 (inf after a
        divergence, NaN where never reached); status 0 ok, 1 diverged, 2 step limit or failed
        error control; the number of steps taken; the final modes.
    """
    n_modes = int(np.shape(weights)[0])
    size = bucket(n_modes, 64)
    shared = (_pad_modes(weights, n_modes, size, 0.0), _pad_modes(drift, n_modes, size, None),
              _pad_modes(loads, n_modes, size, None), _pad_modes(v0, n_modes, size, 0.0))
    return _dispatch(_name("integrate", coeff), _compiled(coeff), params, shared, ckpts,
                     _scalars(rtol, atol, max_substeps, threshold), n_modes)


def integrate_block(
    block: Callable[[jax.Array, Any, Any], tuple[jax.Array, jax.Array]],
    feedback: Callable[[jax.Array, jax.Array, Any], jax.Array],
    params: Any,
    data: Any,
    weights: Any,
    v0: Any,
    ckpts: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    max_substeps: int = 1_000_000,
    threshold: float = float("inf"),
) -> tuple[Any, Any, Any, Any]:
    """Integrate ``dv_j/dk = A_j(k) v_j + l_j(k) f(k, R)`` (block modes) for a stack of configs.

    Args:
        block: ``block(k, p, data) -> (A, l)``, the drift matrices (modes, s, s) and loads
            (modes, s) of one config ``p`` at step k; module-level, so its compiled
            integrator is cached.
        feedback: ``feedback(k, R, p) -> f``, the scalar feedback of the risk.
        params: the configs' parameters, stacked along a leading axis.
        data: the mode data shared by the configs (e.g. the eigenvalues), a pytree.
        weights: (modes, s): the weights w of the risk R = sum w * v.
        v0: (modes, s): the initial state.
        ckpts: as in :func:`integrate`.
        rtol: as in :func:`integrate`.
        atol: as in :func:`integrate`.
        max_substeps: as in :func:`integrate`.
        threshold: as in :func:`integrate`.

    Returns:
        ``(risk, status, n_substeps, v_final)`` as in :func:`integrate`.
    """
    n_modes = int(np.shape(weights)[0])
    size = bucket(n_modes, 64)
    data = jax.tree_util.tree_map(lambda x: _pad_modes(x, n_modes, size, None), data)
    shared = (data, _pad_modes(weights, n_modes, size, 0.0), _pad_modes(v0, n_modes, size, 0.0))
    return _dispatch(_name("integrate_block", block, feedback),
                     _compiled_block(block, feedback), params, shared, ckpts,
                     _scalars(rtol, atol, max_substeps, threshold), n_modes)
