"""Multi-layer conjugate kernel: the layerwise Marchenko-Pastur recursion (docs/theory/rmt.md
section 5).

Layers Y_0 = X, Y_l = f(W_l Y_{l-1} / sqrt(n_{l-1})) - E f(s_l N) (centred at every layer), W_l
with iid entries of variance sigma_l^2. Sample-side Grams K_l = (1/n_l) Y_l^T Y_l (m x m) with laws
nu_l. Variance bookkeeping: q_0 = sigma_x^2, s_l^2 = sigma_l^2 q_{l-1}, q_l = Var f(s_l N);
theta1^(l) = q_l, theta2^(l) = (E[N f(s_l N)])^2. Conditionally on Y_{l-1}, the rows of Y_l have the
kernel Phi_l ~ b_l K_{l-1} + a_l I (Gaussian equivalence, Pennington & Worah 2017 section 5;
Benigni & Peche 2021 section 3; Fan & Wang, NeurIPS 2020, thm 3.4 for the normalised form), so

    nu_l = MP(c_l) boxtimes law(a_l + b_l tau),  tau ~ nu_{l-1},   nu_0 = q_0 MP(m / n0),
    c_l = m / n_l,  a_l = theta1^(l) - theta2^(l),  b_l = theta2^(l) / q_{l-1}.

Silverstein's equation for the companion transform u_l(z) = -(1 - c_l)/z + c_l S_{nu_l}(z) of the
n_l-side law, u_l z_l - c_l + c_l S_{nu_{l-1}}(z_{l-1}) / (b_l u_l) + 1 = 0, reads

    b_l u_l z_l S_{nu_l}(z_l) + S_{nu_{l-1}}(z_{l-1}) = 0,   z_{l-1} = -a_l/b_l - 1/(b_l u_l),

with S_{nu_0} from the MP quadratic. The L + 1 unknowns S_0(z_0), ..., S_L(z_L) (bounded, unlike
the u_l, which blow up like 1/z_l near 0) are solved jointly by Newton's method with continuation in
Im z (one vectorised solve for all points). The feature side M = (1/m) Y_L Y_L^T has
S_M(z) = S_{K_L}(z/gamma)/gamma^2 + (1 - gamma)/(gamma z), gamma = n_L/m.
For L = 1 the recursion reproduces the quartic (Q) (checked in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn.rmt.activation import Activation, activation, gaussian_constants
from optdyn.rmt.continuation import newton_continuation
from optdyn.rmt.law import SpectralLaw, _positive_float, _positive_int

__all__ = ["MultiLayerConjugateKernel"]


class MultiLayerConjugateKernel(SpectralLaw):
    """Limiting spectrum of M = (1/m) Y_L Y_L^T for an L-layer random network (module docstring).

    Args:
        activation: name, :class:`~optdyn.rmt.activation.Activation` or vectorised callable; it is
            centred exactly at every layer (E f(s_l N) subtracted).
        n0: input dimension; widths: (n_1, ..., n_L); m: number of samples.
        sigma_w: entry std of the weights (one number or one per layer); sigma_x: of the inputs.
    """

    def __init__(self, activation: str | Callable | Activation, n0: int, widths: Sequence[int],
                 m: int, sigma_w: float | Sequence[float] = 1.0, sigma_x: float = 1.0) -> None:
        self.n0 = _positive_int(n0, "n0")
        self.m = _positive_int(m, "m")
        if len(widths) == 0:
            raise ConfigError("widths", "needs at least one layer")
        self.widths = tuple(_positive_int(n, f"widths[{i}]") for i, n in enumerate(widths))
        sig = [sigma_w] * len(self.widths) if np.ndim(sigma_w) == 0 else list(sigma_w)
        if len(sig) != len(self.widths):
            raise ConfigError("sigma_w", f"needs one value per layer ({len(self.widths)})")
        self.sigma_w = tuple(_positive_float(s, "sigma_w") for s in sig)
        self.sigma_x = _positive_float(sigma_x, "sigma_x")
        self.activation = _resolve(activation)
        q = self.sigma_x**2
        self.q = [q]
        self.layer_constants = []
        self.a: list[float] = []
        self.b: list[float] = []
        for s_w in self.sigma_w:
            const = gaussian_constants(self.activation, s_w * math.sqrt(q))
            if not const.theta1 > 0:
                raise ConfigError("activation", "a layer's output is constant (Var f = 0)")
            self.layer_constants.append(const)
            self.a.append(const.nonlinearity)
            self.b.append(const.theta2 / q)
            q = const.theta1
            self.q.append(q)
        self.c = [self.m / self.n0] + [self.m / n for n in self.widths]
        self.name = f"CK[{self.activation.name}, {len(self.widths)} layers]"

    @property
    def layers(self) -> int:
        """L."""
        return len(self.widths)

    @property
    def gamma(self) -> float:
        """n_L / m."""
        return self.widths[-1] / self.m

    @property
    def atom(self) -> float:
        # a centred nonlinear layer has full rank min(n_L, m); linear layers keep the input rank
        rank = min(1.0, 1.0 / self.gamma)
        if all(a == 0 for a in self.a):
            rank = min(rank, min((self.n0, *self.widths)) / self.widths[-1])
        return max(0.0, 1.0 - rank)

    @property
    def upper_bound(self) -> float:
        """||MP(c)|| = (1 + sqrt c)^2 times the population bound a + b ||nu_{l-1}||, x gamma."""
        bound = self.q[0] * (1 + math.sqrt(self.c[0])) ** 2
        for ell in range(self.layers):
            bound = (1 + math.sqrt(self.c[ell + 1])) ** 2 * (self.a[ell] + self.b[ell] * bound)
        return 1.05 * self.gamma * bound

    # ------------------------------------------------------------------ the joint system
    def _chain(self, s: np.ndarray, z: np.ndarray) -> list[Any]:
        """z_L = z, z_{l-1} = -a_l/b_l - 1/(b_l u_l), u_l = -(1 - c_l)/z_l + c_l S_l."""
        zs: list[Any] = [None] * (self.layers + 1)
        zs[-1] = z
        for ell in range(self.layers, 0, -1):
            c, a, b = self.c[ell], self.a[ell - 1], self.b[ell - 1]
            u = -(1.0 - c) / zs[ell] + c * s[ell]
            zs[ell - 1] = -a / b - 1.0 / (b * u)
        return zs

    def _residual(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Unknowns s = (S_0(z_0), ..., S_L(z_L)) at the sample-side point z = z_L; (L+1, N).

        Silverstein's equation u_l z_l - c_l + c_l S_{l-1}/(b_l u_l) + 1 = 0 with
        u_l z_l = c_l z_l S_l - (1 - c_l) becomes b_l u_l z_l S_l + S_{l-1} = 0; layer 0 is the MP
        quadratic c_0 q_0 z_0 S_0^2 + (z_0 - q_0 (1 - c_0)) S_0 + 1 = 0. The transforms S_l (not
        the companions u_l, which blow up like 1/z_l near 0) are the unknowns: no cancellation.
        """
        zs = self._chain(s, z)
        res = np.empty_like(s)
        c0, q0 = self.c[0], self.q[0]
        res[0] = c0 * q0 * zs[0] * s[0] ** 2 + (zs[0] - q0 * (1.0 - c0)) * s[0] + 1.0
        for ell in range(1, self.layers + 1):
            c, b = self.c[ell], self.b[ell - 1]
            uz = c * zs[ell] * s[ell] - (1.0 - c)
            res[ell] = b * uz * s[ell] + s[ell - 1]
        return res

    def _start(self, z: np.ndarray) -> np.ndarray:
        s = np.empty((self.layers + 1, z.size), complex)
        zz = z
        for ell in range(self.layers, 0, -1):
            s[ell] = -1.0 / zz
            c, a, b = self.c[ell], self.a[ell - 1], self.b[ell - 1]
            zz = -a / b - 1.0 / (b * (-(1.0 - c) / zz + c * s[ell]))
        s[0] = -1.0 / zz
        return s

    def _valid(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
        # Stieltjes transforms of laws on [0, inf) at points of the closed upper half-plane:
        # Im S_l >= 0 and Im(z_l S_l) >= 0 at every layer
        zs = self._chain(s, z)
        ok = np.ones(z.shape, bool)
        for ell in range(self.layers + 1):
            tol = 1e-9 * np.abs(s[ell]) + 1e-300
            ok &= (s[ell].imag >= -tol) & ((zs[ell] * s[ell]).imag >= -tol * np.abs(zs[ell]))
        return ok

    def sample_side_stieltjes(self, zb: np.ndarray, etas: np.ndarray) -> np.ndarray:
        """S of nu_L (the law of K_L = (1/n_L) Y_L^T Y_L) at zb + i eta_last, by continuation."""
        if any(b == 0 for b in self.b):
            raise ConfigError("activation", "a layer with theta2 = 0: the law is theta1 MP(m/n_l) "
                              "from that layer on; use ConjugateKernel on the last such layer")
        s, ok = newton_continuation(self._residual, zb, self._start, etas, self._valid)
        return np.where(ok, s[-1], np.nan + 1j * np.nan)

    def _stieltjes(self, zb: np.ndarray, etas: np.ndarray) -> np.ndarray:
        g = self.gamma
        s_k = self.sample_side_stieltjes(np.asarray(zb) / g, etas / g)
        z = np.asarray(zb) + 1j * etas[-1]
        return s_k / g**2 + (1.0 - g) / (g * z)

    def _attrs(self) -> dict[str, Any]:
        return {"activation": self.activation.name, "n0": self.n0, "m": self.m,
                "widths": list(self.widths), "sigma_w": list(self.sigma_w),
                "sigma_x": self.sigma_x, "q": list(self.q), "a": self.a, "b": self.b,
                "reference": "docs/theory/rmt.md section 5 (layerwise Gaussian equivalence); "
                             "Fan & Wang, NeurIPS 2020"}


def _resolve(f: Any) -> Activation:
    return activation(f)
