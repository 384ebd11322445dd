"""A least-squares problem given by a quantised spectral measure instead of d explicit modes.

Streaming least squares with Gaussian inputs x ~ N(0, K) depends, for a rotation-invariant
optimizer such as SGD, only on the pairs (eigenvalue, initial error energy) of K's modes. Group
the d modes into atoms a of n_a modes sharing one eigenvalue lambda_a, and the mode energies
v_i = (1/2) <u_i, theta0 - theta*>^2 add up within an atom: V_a = sum_{i in a} v_i. SGD's
homogenized ODE (Paquette, Paquette, Adlam, Pennington, arXiv 2206.07252)

    dv_i/dk = -2 gamma lambda_i v_i + (gamma^2 / B) lambda_i (R + sigma^2 / 2),
    R = sum_i lambda_i v_i,

summed over an atom becomes

    dV_a/dk = -2 gamma lambda_a V_a + (gamma^2 / B) n_a lambda_a (R + sigma^2 / 2),
    R = sum_a lambda_a V_a,

the same mode system with the noise load n_a lambda_a (docs/theory/plrf.md section 7), and
Tr K = sum_a n_a lambda_a. So a curve at d = 10^5 costs what its few hundred atoms cost. The
measure of power-law random features comes from :class:`optdyn.rmt.PLRFSpectrum` without
sampling W (:func:`plrf_equivalent`). There are no samples to draw: simulate the
:class:`~optdyn.problems.PowerLawRandomFeatures` itself.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.registry import register
from optdyn._core.spec import remember
from optdyn.noise import Gaussian
from optdyn.problems._covariance import as_noise_law, digest

__all__ = ["SpectralMeasure", "plrf_equivalent"]


def _positive_array(field: str, value: Any, n: int | None, allow_zero: bool) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or (n is not None and arr.size != n):
        want = "a non-empty 1-D array" if n is None else f"a 1-D array of {n} values"
        raise ConfigError(field, f"expected {want}, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if np.any(bad):
        raise ConfigError(field, f"must be finite and {'>= 0' if allow_zero else '> 0'} "
                          f"({int(bad.sum())} entries are not)")
    return arr


@register("problem", "spectral_measure", noise="noise")
@dataclasses.dataclass(frozen=True, eq=False)
class SpectralMeasure:
    """Gaussian least squares described by atoms: eigenvalue ``eigenvalues[a]`` shared by
    ``multiplicity[a]`` modes (real counts >= 0: a deterministic equivalent spreads one
    eigenvalue over neighbouring atoms), carrying the initial error energy ``energy[a]`` =
    sum over its modes of <u_i, theta0 - theta*>^2, and label ``noise`` (a law from
    :mod:`optdyn.noise`). See the module docstring.

    The theory engine runs SGD on it (``method="ode"`` or ``"exact"``); laws that need K's
    entries in the input coordinates (signSGD's diagonal, Adam) do not apply, and there is
    nothing to simulate.
    """

    eigenvalues: Any
    multiplicity: Any
    energy: Any
    noise: Any = None
    source: Any = None

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        lam = _positive_array("eigenvalues", self.eigenvalues, None, allow_zero=True)
        set_("eigenvalues", lam)
        set_("multiplicity", _positive_array("multiplicity", self.multiplicity, lam.size, True))
        set_("energy", _positive_array("energy", self.energy, lam.size, True))
        set_("noise", as_noise_law(self.noise))
        if not self.multiplicity.sum() >= 0.5:
            raise ConfigError("multiplicity", "the atoms stand for no mode (sum < 1/2)")

    # --------------------------------------------------------------- what the laws read
    basis = None

    @property
    def d(self) -> int:
        """The number of modes the atoms stand for, sum_a n_a (rounded)."""
        return int(round(float(self.multiplicity.sum())))

    @property
    def atoms(self) -> int:
        """The number of atoms."""
        return int(self.eigenvalues.size)

    @property
    def trace(self) -> float:
        """Tr K = sum_a n_a lambda_a."""
        return float(np.dot(self.multiplicity, self.eigenvalues))

    @property
    def op_norm(self) -> float:
        """||K||_op: the largest atom carrying modes."""
        return float(self.eigenvalues[self.multiplicity > 0].max())

    @property
    def noise_second_moment(self) -> float:
        """E[eps^2] (infinite for heavy-tailed laws)."""
        return float(self.noise.second_moment)

    @property
    def initial_modes(self) -> np.ndarray:
        """V_a(0) = (1/2) energy_a: the summed mode energies of each atom."""
        return 0.5 * self.energy

    @property
    def initial_risk(self) -> float:
        """R0 = (1/2) sum_a lambda_a energy_a."""
        return float(0.5 * np.dot(self.eigenvalues, self.energy))

    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable description recorded in every result's attributes."""
        return {
            "problem": "SpectralMeasure",
            "d": self.d,
            "atoms": self.atoms,
            "trace_K": self.trace,
            "op_norm_K": self.op_norm,
            "noise": self.noise.to_config(),
            "initial_risk": self.initial_risk,
            **({"source": self.source} if self.source is not None else {}),
            "digest": digest(self.eigenvalues, self.multiplicity, self.energy),
        }


@functools.lru_cache(maxsize=32)
def _plrf_atoms(v: int, d: int, alpha: float, beta: float, ratio: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from optdyn.rmt import PLRFSpectrum

    spec = PLRFSpectrum(v, d, alpha, beta)
    mu, count, energy = spec.atoms(ratio)
    return mu, count, energy, 2.0 * spec.capacity_floor


@register("problem", "plrf_equivalent")
def plrf_equivalent(v: int, d: int, alpha: float, beta: float,
                    ratio: float = 1.02) -> SpectralMeasure:
    """The deterministic-equivalent spectral measure of PLRF(v, d, alpha, beta) from theta0 = 0
    (Paquette, Paquette, Xiao, Pennington arXiv 2405.15074; docs/theory/plrf.md): atoms from
    :meth:`optdyn.rmt.PLRFSpectrum.atoms` (bins of ratio ``ratio``), the energy of theta_opt on
    each, and Gaussian noise of variance sigma_xi^2 = 2 F_0, so that the theory's loss R + F_0 is
    the PLRF's population loss. Cached per argument tuple (about 10 s at d = 10^5)."""
    from optdyn.problems.plrf import PowerLawRandomFeatures

    # the PLRF's own checks of v, d, alpha, beta (it is not built: W is never sampled)
    for name, val in (("v", v), ("d", d)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ConfigError(name, f"must be a positive integer, got {val!r}")
    if v <= d:
        raise ConfigError("v", f"must exceed d = {d} (the equivalent needs v > d), got {v}")
    PowerLawRandomFeatures.check_exponents(alpha, beta)
    mu, count, energy, sig2 = _plrf_atoms(int(v), int(d), float(alpha), float(beta),
                                          float(ratio))
    src = {"kind": "plrf_equivalent", "v": int(v), "d": int(d), "alpha": float(alpha),
           "beta": float(beta), "ratio": float(ratio)}
    out = SpectralMeasure(mu, count, energy, Gaussian(float(np.sqrt(sig2))), source=src)
    return remember(out, dict(src))
