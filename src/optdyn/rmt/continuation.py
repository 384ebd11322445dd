"""Continuation in the imaginary part: the physical branch of an algebraic Stieltjes transform.

A Stieltjes transform S(z) = int dmu(x)/(x - z) of a measure on [0, inf) is, for Im z large,
the unique root close to -1/z (|S| <= 1/Im z). Following docs/theory/rmt.md section 4, we start
every point x at z = x + i eta_0 with eta_0 far above the support and walk eta down a geometric
ladder to eta = 0, at each level taking the root closest to a Newton prediction from the previous
level. Points where the closest root is not clearly closer than the second closest (ratio > 1/4) are
re-done with finer sub-steps. We never take "the root with the largest imaginary part": a
spurious root with Im > 0 exists (docs/theory/rmt.md section 4, item 5).

Everything is vectorised over points: each level is one batched eigenvalue problem of the
companion matrices (numpy), so a 1000-point density costs a few tenths of a second.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["poly_roots", "poly_eval", "track_polynomial_root", "newton_continuation",
           "eta_ladder"]

CoefFn = Callable[[np.ndarray], np.ndarray]


def eta_ladder(scale: float, ratio: float = 2.5, low: float = 1e-13) -> np.ndarray:
    """Decreasing imaginary parts 100 scale, 100 scale / ratio, ..., low * scale, then 0."""
    hi, lo = 100.0 * scale, low * scale
    n = int(np.ceil(np.log(hi / lo) / np.log(ratio))) + 1
    return np.concatenate([np.geomspace(hi, lo, n), [0.0]])


def poly_eval(c: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(s) and p'(s) by Horner; ``c`` (N, n+1) highest power first, ``s`` (N,)."""
    p = np.zeros_like(s)
    dp = np.zeros_like(s)
    for k in range(c.shape[1]):
        dp = dp * s + p
        p = p * s + c[:, k]
    return p, dp


def poly_roots(c: np.ndarray) -> np.ndarray:
    """All roots of each row of ``c`` (N, n+1), via batched companion-matrix eigenvalues.

    Leading columns that vanish identically are dropped first (degenerate families).
    """
    c = np.asarray(c)
    while c.shape[1] > 2 and not np.any(c[:, 0]):
        c = c[:, 1:]
    n = c.shape[1] - 1
    lead = c[:, :1]
    lead = np.where(lead == 0, np.finfo(float).tiny, lead)
    comp = np.zeros((c.shape[0], n, n), dtype=np.result_type(c.dtype, float))
    comp[:, 0, :] = -c[:, 1:] / lead
    if n > 1:
        comp[:, np.arange(1, n), np.arange(n - 1)] = 1.0
    return np.linalg.eigvals(comp)


def _newton(c: np.ndarray, s: np.ndarray, iters: int = 2) -> np.ndarray:
    for _ in range(iters):
        p, dp = poly_eval(c, s)
        ok = np.abs(dp) > 1e-300
        step = np.where(ok, p / np.where(ok, dp, 1.0), 0.0)
        s = s - step
    return s


def _advance(coef: CoefFn, x: np.ndarray, s: np.ndarray, eta_to: float, eta_from: float,
             depth: int) -> np.ndarray:
    """Move the roots ``s`` at x + i eta_from to x + i eta_to (sub-stepping where ambiguous)."""
    z = x + 1j * eta_to
    c = coef(z)
    # on the real axis with real coefficients: real LAPACK, so real roots come out exactly real
    real_axis = eta_to == 0.0 and (not np.iscomplexobj(c) or not np.any(c.imag))
    roots = poly_roots(c.real if real_axis else c)
    guess = _newton(c.astype(complex), s.astype(complex))
    bad = ~np.isfinite(guess) | (np.abs(guess - s) > 0.5 * np.abs(s) + 1e-300)
    guess = np.where(bad, s, guess)
    dist = np.abs(roots - guess[:, None])
    order = np.argsort(dist, axis=1)
    rows = np.arange(len(x))
    best = roots[rows, order[:, 0]]
    if roots.shape[1] > 1 and depth < 6:
        d1 = dist[rows, order[:, 0]]
        d2 = dist[rows, order[:, 1]]
        amb = d1 > 0.25 * d2
        if np.any(amb):
            idx = np.nonzero(amb)[0]
            lo = max(eta_to, 1e-300 if eta_from > 0 else 0.0)
            sub = (np.geomspace(eta_from, lo, 5)[1:] if eta_to > 0
                   else np.concatenate([np.geomspace(eta_from, eta_from * 1e-3, 4)[1:], [0.0]]))
            si, prev_eta = s[idx], eta_from
            for e in sub:
                si = _advance(coef, x[idx], si, float(e), prev_eta, depth + 1)
                prev_eta = float(e)
            best[idx] = si
    return best


def track_polynomial_root(coef: CoefFn, x: np.ndarray, start: Callable[[np.ndarray], np.ndarray],
                          etas: np.ndarray) -> np.ndarray:
    """The root of ``coef(z)`` followed from z = x + i etas[0] down to x + i etas[-1].

    Args:
        coef: z (N,) complex -> polynomial coefficients (N, n+1), highest power first.
        x: base points (N,); z = x + i eta (x may be complex, e.g. to stop at Im z > 0).
        start: z -> an approximation of the wanted root at the first level (e.g. -1/z).
        etas: decreasing imaginary parts (the last one may be 0).

    Returns:
        The tracked roots at the last level (N,), complex.
    """
    x = np.asarray(x)
    x = x.astype(complex) if np.iscomplexobj(x) else x.astype(float)
    z0 = x + 1j * etas[0]
    roots = poly_roots(coef(z0))
    s = roots[np.arange(len(x)), np.argmin(np.abs(roots - start(z0)[:, None]), axis=1)]
    for e_prev, e in zip(etas[:-1], etas[1:], strict=True):
        s = _advance(coef, x, s, float(e), float(e_prev), 0)
    return s


def newton_continuation(residual: Callable[[np.ndarray, np.ndarray], np.ndarray],
                        x: np.ndarray, start: Callable[[np.ndarray], np.ndarray],
                        etas: np.ndarray, valid: Callable[[np.ndarray, np.ndarray], np.ndarray],
                        iters: int = 8, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Solve a system F(u; z) = 0 of k complex unknowns by Newton continuation in Im z.

    Args:
        residual: (u (k, N), z (N,)) -> F (k, N); analytic in u (Jacobian by complex differences).
        x: real parts (N,); start: z -> initial u (k, N) at the top level.
        etas: decreasing imaginary parts; valid: (u, z) -> bool (N,) physical-branch test.

    Returns:
        (u at the last level, converged flag (N,)). Points that fail at a level (Newton step not
        below tol |u| within ``iters`` or an unphysical root) are re-done from the previous level
        with 4 sub-steps, recursively (depth 3); a point that still fails is given up.
    """
    x = np.asarray(x)
    x = x.astype(complex) if np.iscomplexobj(x) else x.astype(float)

    def solve(u: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Newton on the still-unconverged points only; near a support edge (a square-root branch
        # point) convergence is linear, so such points get up to ``5 iters`` steps
        k = u.shape[0]
        conv = np.zeros(u.shape[1], bool)
        act = np.arange(u.shape[1])
        for it in range(5 * iters):
            ua, za = u[:, act], z[act]
            f = residual(ua, za)
            jac = np.empty((act.size, k, k), dtype=complex)
            for j in range(k):
                h = 1e-7 * (np.abs(ua[j]) + 1e-7)
                up = ua.copy()
                up[j] = up[j] + h
                jac[:, :, j] = ((residual(up, za) - f) / h).T
            with np.errstate(all="ignore"):
                try:
                    step = np.linalg.solve(jac, f.T[..., None])[..., 0].T
                except np.linalg.LinAlgError:
                    step = np.full_like(ua, np.nan)
            step = np.where(np.isfinite(step), step, 0.0)
            ua = ua - step
            u[:, act] = ua
            done = np.all(np.abs(step) <= tol * (np.abs(ua) + tol), axis=0)
            conv[act[done]] = True
            act = act[~done]
            if act.size == 0 or (it + 1 >= iters and act.size > 0.5 * u.shape[1]):
                break
        ok = np.all(np.isfinite(u), axis=0) & conv
        return u, ok & valid(u, z)

    def advance(u: np.ndarray, xs: np.ndarray, e_from: float, e_to: float,
                depth: int) -> tuple[np.ndarray, np.ndarray]:
        new, ok = solve(u.copy(), xs + 1j * e_to)
        if depth < 3 and not np.all(ok):
            idx = np.nonzero(~ok)[0]
            sub = (np.geomspace(e_from, e_to, 5)[1:] if e_to > 0
                   else np.concatenate([np.geomspace(e_from, e_from * 1e-2, 4)[1:], [0.0]]))
            ui, prev, oki = u[:, idx], e_from, np.ones(len(idx), bool)
            for e in sub:
                ui, oki = advance(ui, xs[idx], prev, float(e), depth + 1)
                prev = float(e)
            new[:, idx] = ui
            ok[idx] = oki
        return new, ok

    z0 = x + 1j * etas[0]
    u, ok = solve(start(z0), z0)
    alive = np.ones(x.shape, bool)
    for e_prev, e in zip(etas[:-1], etas[1:], strict=True):
        idx = np.nonzero(alive)[0]
        if idx.size == 0:
            break
        ui, oki = advance(u[:, idx], x[idx], float(e_prev), float(e), 0)
        u[:, idx] = ui
        # a point that fails even with sub-steps is given up (reported as not converged)
        alive[idx[~oki]] = False
    ok = alive
    return u, ok
