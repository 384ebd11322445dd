"""Builders for the target theta* and the start theta0 of a regression problem.

A builder is a frozen dataclass with ``build(eigenvalues, basis, seed) -> theta`` that returns the
vector in the original coordinates; ``basis`` is None for the identity. Coefficients given "in the
eigenbasis" are mapped back with theta = U c, where U's columns are the eigenvectors ordered as the
eigenvalues are.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.registry import register
from optdyn._core.spec import build

__all__ = ["VectorBuilder", "PowerLawCoefficients", "RandomVector", "Zeros", "vector_from_config"]


def _to_original(coef: np.ndarray, basis: np.ndarray | None) -> np.ndarray:
    return coef if basis is None else basis @ coef


class VectorBuilder(abc.ABC):
    """Base class of target/start builders."""

    name = "vector"

    @abc.abstractmethod
    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, seed: int) -> np.ndarray:
        """The vector in the original coordinates."""

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.name, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@register("vector")
@dataclasses.dataclass(frozen=True)
class PowerLawCoefficients(VectorBuilder):
    """Coefficients c_j = scale * j^(-beta) in the eigenbasis (PLRF convention), theta = U c.

    With ``random_signs`` the signs of c_j are drawn from the seed (the risk of SGD and the theory
    only see c_j^2 in the eigenbasis; sign-based optimizers in a rotated basis may not).
    """

    beta: float
    scale: float = 1.0
    random_signs: bool = False
    name = "power_law"

    def __post_init__(self) -> None:
        if not np.isfinite(self.beta):
            raise ConfigError("beta", f"must be finite, got {self.beta!r}")

    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, seed: int) -> np.ndarray:
        j = np.arange(1, eigenvalues.shape[0] + 1, dtype=float)
        coef = self.scale * j ** (-self.beta)
        if self.random_signs:
            coef = coef * np.random.default_rng([seed, 1]).choice([-1.0, 1.0], size=coef.shape)
        return _to_original(coef, basis)


@register("vector")
@dataclasses.dataclass(frozen=True)
class RandomVector(VectorBuilder):
    """A uniformly random direction scaled to Euclidean norm ``norm`` (Gaussian, normalised)."""

    norm: float = 1.0
    name = "random"

    def __post_init__(self) -> None:
        if not np.isfinite(self.norm) or self.norm < 0:
            raise ConfigError("norm", f"must be finite and >= 0, got {self.norm!r}")

    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, seed: int) -> np.ndarray:
        g = np.random.default_rng([seed, 2]).standard_normal(eigenvalues.shape[0])
        return self.norm * g / np.linalg.norm(g)


@register("vector")
@dataclasses.dataclass(frozen=True)
class Zeros(VectorBuilder):
    """The zero vector."""

    name = "zeros"

    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, seed: int) -> np.ndarray:
        return np.zeros(eigenvalues.shape[0])


def vector_from_config(cfg: dict[str, Any], field: str) -> VectorBuilder:
    """Build from ``{"kind": "power_law", "beta": 1.0}`` or ``{"kind": "random", "norm": 1}``."""
    return build("vector", cfg, field)
