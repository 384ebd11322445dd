"""Rates for GD and Muon on the linear associative memory (arXiv 2602.05725).

Li, Wang, Zhong, Lu, Wang, "Muon in Associative Memory Learning", arXiv 2602.05725. The paper's
code is not public and its theorems are known here through third-party notes (docs/theory/memory.md
section B.4, provenance tag [R]: "rates as reported, up to constants"). Each function states the
formula, the theorem it comes from and the provenance tag; the constants set to 1 are a choice made
here, checked against simulations where docs/theory/memory.md reports one ([S], B.6).

Time t is the number of full-batch steps, lr the per-step learning rate, p_j the query frequency
of subtask j, K the number of pairs, beta the power-law exponent of the group masses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn.analysis.fits import PowerLawFit, fit_power_law

__all__ = [
    "gd_subtask_loss",
    "gd_total_loss",
    "muon_noiseless_loss",
    "muon_noisy_bound",
    "muon_critical_time",
    "gd_lower_bound",
    "gd_scaling_exponent",
    "muon_scaling_loss",
    "muon_scaling_lr",
    "MUON_SCALING_EXPONENT",
    "fit_exponent",
    "steps_to_target",
]

MUON_SCALING_EXPONENT = 2.0
"""Thm 5.8 [R]: L^Muon(T) - L* <~ (log K / T)^2, an exponent 2 independent of beta."""


def _pos(field: str, v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ConfigError(field, f"must be finite and > 0, got {v!r}")
    return a


def gd_subtask_loss(p: Any, lr: float, t: Any) -> np.ndarray:
    """GD, noiseless: L_j(t) ~ 1 / (lr p_j t) at large t (Thm 4.1 [R]; constant 1 [S] B.6).

    Returns an array of shape broadcast(p, t); use p[:, None] and t[None, :] for a table.
    """
    return 1.0 / (_pos("lr", lr) * _pos("p", p) * _pos("t", t))


def gd_total_loss(K: int, lr: float, t: Any) -> np.ndarray:
    """GD, noiseless: L(t) = sum_j p_j L_j ~ K / (lr t) (Thm 4.1 [R]; [S] B.6)."""
    return K / (_pos("lr", lr) * _pos("t", t))


def muon_noiseless_loss(K: int, lr: float, t: Any) -> np.ndarray:
    """Muon (= SignSVD, no momentum), noiseless: L_j(t) ~ L(t) ~ K e^(-lr t) (Thm 4.2 [R]).

    The paper's exponent is (1 + o_K(1)) lr t; here the o_K(1) is dropped. [S] B.6 measured
    2.74e-3 against 2.91e-3 at t = 10 (K = 64, M = 4, beta = 2, lr = 1).
    """
    return K * np.exp(-_pos("lr", lr) * np.asarray(t, dtype=float))


def muon_critical_time(K: int, lr: float) -> float:
    """T* = log K / lr, the end of Muon's descent phase with label noise (Thm 5.1 [R];
    the Theta(.) constant set to 1)."""
    return math.log(K) / float(_pos("lr", lr))


def muon_noisy_bound(K: int, lr: float, t: Any, loss_star: float) -> np.ndarray:
    """Two-phase bound on L_j - L_j* for Muon with label noise (Thm 5.1 [R], constants 1).

        descent (t < T* = log K / lr):     K e^(-lr t) + lr t
        oscillation (t >= T*):             lr^2 + L_j*

    As reported by the notes (docs/theory/memory.md section B.4); the "+ lr t" term of the descent
    phase is quoted as given there and is the weakest part of the paraphrase [U]. This is an upper
    envelope up to constants, not a prediction of the curve.
    """
    lr_ = float(_pos("lr", lr))
    t = np.asarray(t, dtype=float)
    descent = K * np.exp(-lr_ * t) + lr_ * t
    return np.where(t < muon_critical_time(K, lr_), descent, lr_**2 + float(loss_star))


def gd_lower_bound(T: Any, p: Any, lr: float, K: int) -> np.ndarray:
    """GD lower bound with a power-law spectrum (Thm 5.7 [R], constants 1):

        L^GD(T) - L* >~ sum_j p_j e^(-lr p_j T) log K

    (each subtask j keeps e^(-lr p_j T) log K of its initial excess). For p_j from group masses
    proportional to i^(-beta) the sum decays like T^(-(1 - 1/beta)) (up to logs) over
    C / (lr pt_1) << T << C / (lr pt_M); see :func:`gd_scaling_exponent`.
    """
    T = np.asarray(T, dtype=float)
    p = _pos("p", p)
    return math.log(K) * np.sum(p[None, :] * np.exp(-float(_pos("lr", lr)) * p[None, :]
                                                    * T.reshape(-1, 1)), axis=1).reshape(T.shape)


def gd_scaling_exponent(beta: Any) -> np.ndarray:
    """1 - 1/beta, the decay exponent of GD's loss in T (Thm 5.7 [R]; needs beta > 1)."""
    b = np.asarray(beta, dtype=float)
    if np.any(b <= 1):
        raise ConfigError("beta", f"the power law needs beta > 1, got {beta!r}")
    return 1.0 - 1.0 / b


def muon_scaling_lr(K: int, T: Any, c: float = 1.0) -> np.ndarray:
    """lr = c log K / T, the Theta(log K / T) step of Thm 5.8 [R] (c is the unknown constant)."""
    return float(c) * math.log(K) / _pos("T", T)


def muon_scaling_loss(K: int, T: Any) -> np.ndarray:
    """Muon's scaling law (Thm 5.8 [R], constant 1): L(T) - L* <~ (log K / T)^2."""
    return (math.log(K) / _pos("T", T)) ** 2


def fit_exponent(T: Any, excess: Any) -> PowerLawFit:
    """Least-squares fit of log10 excess = a + s log10 T with OLS standard errors.

    Thin wrapper of :func:`optdyn.analysis.fits.fit_power_law`; the decay exponent is -s.
    """
    return fit_power_law(T, excess)


def steps_to_target(steps: Any, loss: Any, target: float) -> float:
    """First step at which a recorded loss curve falls to ``target`` (log-linear interpolation
    between checkpoints; inf if it never does)."""
    s = np.asarray(steps, dtype=float)
    y = np.asarray(loss, dtype=float)
    below = np.nonzero(y <= target)[0]
    if below.size == 0:
        return math.inf
    k = int(below[0])
    if k == 0:
        return float(s[0])
    y0, y1 = y[k - 1], y[k]
    if not (y0 > 0 and y1 > 0) or y0 == y1:
        return float(s[k])
    w = (math.log(y0) - math.log(target)) / (math.log(y0) - math.log(y1))
    return float(s[k - 1] + w * (s[k] - s[k - 1]))
