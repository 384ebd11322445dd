"""Empirical conjugate kernels: sample W, X (Gaussian or not), form M, compute its spectrum.

M = (1/m) Y Y^T with Y = f(W X / sqrt(n0)) (one layer), or Y_l = f(W_l Y_{l-1} / sqrt(n_{l-1}))
(several layers). Eigenvalues are computed from the smaller of the two Gram matrices and padded
with exact zeros, so a 2000 x 4000 kernel costs about a second. The Kolmogorov distance to a
limiting law includes its atom at 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn.rmt.activation import Activation, activation, gaussian_constants

linalg = lazy_module("scipy.linalg")

__all__ = ["EntryLaw", "entry_law", "sample_matrix", "features", "conjugate_kernel",
           "sample_eigenvalues", "multilayer_features", "sample_multilayer_eigenvalues",
           "gram_eigenvalues", "kolmogorov_distance"]


@dataclasses.dataclass(frozen=True)
class EntryLaw:
    """A centred, unit-variance entry law.

    ``"gaussian"``, ``"rademacher"`` (+-1), ``"uniform"`` (on [-sqrt 3, sqrt 3]) or ``"sparse"``
    (+-1/sqrt(p) with probability p, else 0).
    """

    name: str = "gaussian"
    p: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in ("gaussian", "rademacher", "uniform", "sparse"):
            raise ConfigError("entries", f"unknown entry law {self.name!r}; expected gaussian, "
                              "rademacher, uniform or sparse")
        if not (0 < self.p <= 1):
            raise ConfigError("entries.p", f"sparsity must be in (0, 1], got {self.p!r}")

    @property
    def kurtosis(self) -> float:
        """E w^4 (unit variance): 3, 1, 1.8, 1/p."""
        return {"gaussian": 3.0, "rademacher": 1.0, "uniform": 1.8, "sparse": 1.0 / self.p}[
            self.name]

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """iid entries of the given shape (float64)."""
        if self.name == "gaussian":
            return rng.standard_normal(shape)
        if self.name == "rademacher":
            return 2.0 * rng.integers(0, 2, size=shape, dtype=np.int8) - 1.0
        if self.name == "uniform":
            return rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), size=shape)
        signs = 2.0 * rng.integers(0, 2, size=shape, dtype=np.int8) - 1.0
        return signs * (rng.random(shape) < self.p) / math.sqrt(self.p)

    def label(self) -> str:
        return self.name if self.name != "sparse" else f"sparse(p={self.p:g})"


def entry_law(spec: str | EntryLaw) -> EntryLaw:
    """``"gaussian"``, ``"rademacher"``, ``"uniform"``, ``"sparse:0.05"`` or an EntryLaw."""
    if isinstance(spec, EntryLaw):
        return spec
    if isinstance(spec, str):
        if spec.startswith("sparse"):
            _, _, p = spec.partition(":")
            try:
                return EntryLaw("sparse", float(p) if p else 0.1)
            except ValueError:
                raise ConfigError("entries", f"bad sparsity in {spec!r}") from None
        return EntryLaw(spec)
    raise ConfigError("entries", f"expected a name or an EntryLaw, got {spec!r}")


def sample_matrix(rng: np.random.Generator, shape: tuple[int, int],
                  law: str | EntryLaw = "gaussian", sigma: float = 1.0) -> np.ndarray:
    """A matrix with iid entries sigma * (law), float64."""
    return sigma * entry_law(law).sample(rng, shape)


def _shift(act: Activation, s: float, centre: bool) -> float:
    return gaussian_constants(act, s).mean if centre else 0.0


def features(f: str | Callable | Activation, w: np.ndarray, x: np.ndarray, centre: bool = False,
             scale: float | None = None) -> np.ndarray:
    """Y = f(W X / sqrt(n0)) (minus the Gaussian mean E f(sN), s = ``scale``, when ``centre``)."""
    act = activation(f)
    y = act(w @ x / math.sqrt(w.shape[1]))
    if centre:
        if scale is None:
            raise ConfigError("scale", "centring needs the pre-activation scale s")
        y = y - _shift(act, scale, True)
    return y


def conjugate_kernel(f: str | Callable | Activation, n0: int, n1: int, m: int, *, seed: int = 0,
                     w_entries: str | EntryLaw = "gaussian", x_entries: str | EntryLaw = "gaussian",
                     sigma_w: float = 1.0, sigma_x: float = 1.0,
                     centre: bool = False) -> np.ndarray:
    """The n1 x n1 matrix M = (1/m) Y Y^T of one random layer (W, X drawn from ``seed``)."""
    y = _one_layer(f, n0, n1, m, seed, w_entries, x_entries, sigma_w, sigma_x, centre)
    return (y @ y.T) / m


def _one_layer(f, n0, n1, m, seed, w_entries, x_entries, sigma_w, sigma_x, centre):
    for name, v in (("n0", n0), ("n1", n1), ("m", m)):
        if not (isinstance(v, int | np.integer) and v > 0):
            raise ConfigError(name, f"must be a positive integer, got {v!r}")
    rng = np.random.default_rng(seed)
    w = sample_matrix(rng, (n1, n0), w_entries, sigma_w)
    x = sample_matrix(rng, (n0, m), x_entries, sigma_x)
    return features(f, w, x, centre, sigma_w * sigma_x)


def _eigvalsh(a: np.ndarray) -> np.ndarray:
    # LAPACK's relatively robust representation driver: ~10x faster than numpy's default here
    return linalg.eigvalsh(a, driver="evr", check_finite=False)


def gram_eigenvalues(y: np.ndarray, m: int) -> np.ndarray:
    """Eigenvalues (increasing, n1 of them) of (1/m) Y Y^T via the smaller Gram matrix."""
    n1, cols = y.shape
    if n1 <= cols:
        return _eigvalsh(y @ y.T / m)
    small = _eigvalsh(y.T @ y / m)
    return np.concatenate([np.zeros(n1 - cols), np.clip(small, 0.0, None)])


def sample_eigenvalues(f: str | Callable | Activation, n0: int, n1: int, m: int, *,
                       seed: int = 0, w_entries: str | EntryLaw = "gaussian",
                       x_entries: str | EntryLaw = "gaussian", sigma_w: float = 1.0,
                       sigma_x: float = 1.0, centre: bool = False) -> np.ndarray:
    """Eigenvalues (increasing, n1 of them) of one sampled M = (1/m) f(WX/sqrt n0) f(.)^T."""
    y = _one_layer(f, n0, n1, m, seed, w_entries, x_entries, sigma_w, sigma_x, centre)
    return gram_eigenvalues(y, m)


def multilayer_features(f: str | Callable | Activation, n0: int, widths: Sequence[int], m: int,
                        *, seed: int = 0, entries: str | EntryLaw = "gaussian",
                        x_entries: str | EntryLaw = "gaussian",
                        sigma_w: float | Sequence[float] = 1.0, sigma_x: float = 1.0,
                        centre: bool = True) -> list[np.ndarray]:
    """Y_1..Y_L, Y_l = f(W_l Y_{l-1}/sqrt(n_{l-1})) - (the mean at that layer's scale if centre).

    The centring constant of layer l is E f(s_l N) with s_l^2 = sigma_l^2 q_{l-1} the limiting
    pre-activation variance (q_0 = sigma_x^2, q_l = Var f(s_l N)), as in
    :class:`optdyn.rmt.multilayer.MultiLayerConjugateKernel`.
    """
    act = activation(f)
    sig = [float(sigma_w)] * len(widths) if np.ndim(sigma_w) == 0 else [float(s) for s in sigma_w]
    if len(sig) != len(widths):
        raise ConfigError("sigma_w", f"needs one value per layer ({len(widths)})")
    rng = np.random.default_rng(seed)
    y = sample_matrix(rng, (n0, m), x_entries, sigma_x)
    q = sigma_x**2
    out = []
    for n, s_w in zip(widths, sig, strict=True):
        w = sample_matrix(rng, (int(n), y.shape[0]), entries, s_w)
        s = s_w * math.sqrt(q)
        const = gaussian_constants(act, s)
        y = act(w @ y / math.sqrt(y.shape[0])) - (const.mean if centre else 0.0)
        q = const.theta1 if centre else const.second_moment
        out.append(y)
    return out


def sample_multilayer_eigenvalues(f: str | Callable | Activation, n0: int, widths: Sequence[int],
                                  m: int, **kwargs: Any) -> list[np.ndarray]:
    """Eigenvalues of M_l = (1/m) Y_l Y_l^T at every layer l (n_l of them, increasing)."""
    return [gram_eigenvalues(y, m) for y in multilayer_features(f, n0, widths, m, **kwargs)]


def kolmogorov_distance(eigenvalues: np.ndarray, law: Any, zero_tol: float = 1e-9) -> float:
    """sup_x |F_n(x) - F(x)| between the empirical spectral CDF and ``law.cdf`` (atom included).

    Eigenvalues below ``zero_tol * max`` in absolute value count as exact zeros (the atom).
    """
    ev = np.sort(np.asarray(eigenvalues, dtype=float))
    n = ev.size
    ev = np.where(np.abs(ev) <= zero_tol * max(np.abs(ev).max(), 1e-300), 0.0, ev)
    xs, counts = np.unique(ev, return_counts=True)
    f_right = np.cumsum(counts) / n  # F_n(x) at each distinct value
    f_left = f_right - counts / n  # F_n(x-)
    law_right = law.cdf(xs)
    # F(x-): continuous except at 0, where F(0-) = 0
    law_left = np.where(xs == 0.0, 0.0, law_right)
    return float(max(np.abs(f_right - law_right).max(), np.abs(f_left - law_left).max()))
