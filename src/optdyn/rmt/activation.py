"""Gaussian constants of an activation, by adaptive quadrature.

With N ~ N(0, 1) and s the pre-activation scale (s = sigma_w sigma_x for one layer), the
conjugate-kernel spectrum of f(WX/sqrt(n0)) depends on f only through (Pennington & Worah,
NeurIPS 2017, eqs. 5-6; Benigni & Peche, EJP 26 (2021), theorem 2.3)

    mean     mu0    = E f(sN)
    theta1 = eta    = Var f(sN)                      (= E f(sN)^2 for centred f)
    theta2 = zeta   = (E[N f(sN)])^2 = (s E f'(sN))^2  (Stein's identity: no derivative needed)

and its largest eigenvalue also on the second Hermite coefficient (docs/theory/rmt.md section 7.2)

    c2 = E[f(sN) (N^2 - 1)] / sqrt(2) = s^2 E f''(sN) / sqrt(2).

In Hermite terms f(s.) = sum_k a_k He_k / sqrt(k!):
theta1 = sum_{k>=1} a_k^2, theta2 = a_1^2, c2 = a_2.

Every expectation is an adaptive Gauss-Kronrod quadrature (``scipy.integrate.quad``) of
f(s t) phi(t) over [-L, L] (the Gaussian tail beyond L = 14 has mass 1e-44), split at 0 and at the
activation's known kinks, so kinked activations (ReLU, |x|, hard tanh) are integrated to ~1e-12,
where a Gauss-Hermite rule is off by ~1e-3.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module

integrate = lazy_module("scipy.integrate")
special = lazy_module("scipy.special")

__all__ = ["Activation", "GaussianConstants", "activation", "gaussian_constants", "ACTIVATIONS"]

_L = 14.0
_SQRT2PI = math.sqrt(2.0 * math.pi)


@dataclasses.dataclass(frozen=True)
class Activation:
    """A vectorised scalar function with a name and the points where it is not smooth.

    Args:
        fn: vectorised callable (numpy array in, numpy array out).
        name: label used in results and figures.
        kinks: points x where f is not analytic (quadrature breakpoints, in f's own variable).
    """

    fn: Callable[[Any], Any]
    name: str = "custom"
    kinks: tuple[float, ...] = ()

    def __call__(self, x: Any) -> np.ndarray:
        return np.asarray(self.fn(np.asarray(x, dtype=float)), dtype=float)


def _relu_centred(x: np.ndarray) -> np.ndarray:
    # centred for unit pre-activation variance; for other scales the mean is removed separately
    return np.maximum(x, 0.0) - 1.0 / _SQRT2PI


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation(np.tanh, "tanh"),
    "sin": Activation(np.sin, "sin"),
    "erf": Activation(special.erf, "erf"),
    "relu": Activation(lambda x: np.maximum(x, 0.0), "relu", (0.0,)),
    "relu_centred": Activation(_relu_centred, "relu_centred", (0.0,)),
    "abs": Activation(np.abs, "abs", (0.0,)),
    "abs_centred": Activation(lambda x: np.abs(x) - math.sqrt(2.0 / math.pi), "abs_centred",
                              (0.0,)),
    "linear": Activation(lambda x: np.asarray(x, dtype=float), "linear"),
    "he2": Activation(lambda x: (x * x - 1.0) / math.sqrt(2.0), "he2"),
    "he3": Activation(lambda x: (x**3 - 3.0 * x) / math.sqrt(6.0), "he3"),
    "hardtanh": Activation(lambda x: np.clip(x, -1.0, 1.0), "hardtanh", (-1.0, 1.0)),
}


def activation(f: str | Callable | Activation, kinks: Sequence[float] = ()) -> Activation:
    """Resolve ``f`` (a name from :data:`ACTIVATIONS`, an :class:`Activation` or a callable)."""
    if isinstance(f, Activation):
        return f
    if isinstance(f, str):
        if f not in ACTIVATIONS:
            raise ConfigError("activation", f"unknown activation {f!r}; expected one of "
                              f"{sorted(ACTIVATIONS)} or a vectorised callable")
        return ACTIVATIONS[f]
    if callable(f):
        name = getattr(f, "__name__", "custom")
        return Activation(f, name if name != "<lambda>" else "custom",
                          tuple(float(k) for k in kinks))
    raise ConfigError("activation", f"expected a name or a vectorised callable, got {f!r}")


@dataclasses.dataclass(frozen=True)
class GaussianConstants:
    """The constants of f at pre-activation scale ``s`` (see the module docstring)."""

    s: float
    mean: float
    second_moment: float
    theta1: float
    theta2: float
    c2: float

    @property
    def nonlinearity(self) -> float:
        """theta1 - theta2 >= 0, the variance of the Gaussian-equivalent noise."""
        return max(self.theta1 - self.theta2, 0.0)


def _expect(g: Callable[[float], float], breaks: Sequence[float]) -> float:
    pts = sorted({-_L, _L, 0.0, *[b for b in breaks if -_L < b < _L]})
    total = 0.0
    for lo, hi in zip(pts[:-1], pts[1:], strict=True):
        val, _ = integrate.quad(g, lo, hi, epsabs=1e-14, epsrel=1e-12, limit=400)
        total += val
    return total


def gaussian_constants(f: str | Callable | Activation, s: float = 1.0) -> GaussianConstants:
    """mu0, theta1 (variance), theta2, c2 of ``f(s N)`` by adaptive quadrature.

    theta1 = Var f(sN), theta2 = (E[N f(sN)])^2, c2 = E[f(sN)(N^2-1)]/sqrt(2) (Pennington & Worah
    2017; Benigni & Peche 2021; docs/theory/rmt.md section 2). Breakpoints are placed at 0 and at
    the activation's kinks divided by s.
    """
    act = activation(f)
    if not (np.isfinite(s) and s > 0):
        raise ConfigError("sigma", f"the pre-activation scale must be finite and > 0, got {s!r}")
    breaks = [k / s for k in act.kinks]

    def fs(t: float) -> float:
        return float(act(np.array([s * t]))[0]) * math.exp(-0.5 * t * t) / _SQRT2PI

    probe = act(np.linspace(-3 * s, 3 * s, 7))
    if probe.shape != (7,) or not np.all(np.isfinite(probe)):
        raise ConfigError("activation", "must be vectorised and finite on [-3s, 3s]")
    mean = _expect(fs, breaks)
    second = _expect(lambda t: fs(t) * float(act(np.array([s * t]))[0]), breaks)
    lin = _expect(lambda t: t * fs(t), breaks)
    quad2 = _expect(lambda t: (t * t - 1.0) * fs(t), breaks) / math.sqrt(2.0)
    var = max(second - mean * mean, 0.0)
    th2 = lin * lin
    # snap the exact degenerate cases (vanishing linear coefficient; linear f) to exact values
    if th2 <= 1e-13 * max(var, 1e-300):
        th2 = 0.0
    if abs(var - th2) <= 1e-11 * max(var, 1e-300):
        th2 = var
    if not math.isfinite(second):
        raise ConfigError("activation", "E f(sN)^2 is not finite")
    return GaussianConstants(float(s), mean, second, var, th2, quad2)
