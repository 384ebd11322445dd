"""What the engines need from a problem, named once: the :class:`Problem` base class.

The simulation engine (``optdyn.simulate.run``) calls, inside compiled code, only the methods
declared here; the theory's laws read the spectral description (eigenvalues, basis, noise) of a
:class:`GaussianRegression`; full-batch runs (``optdyn.simulate.run_full_batch``) need
:class:`FullBatchProblem`'s exact gradient and subtask losses. Engines check ``isinstance``
against these classes instead of probing attributes.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import jax

__all__ = ["FullBatchProblem", "GaussianRegression", "Problem"]


class Problem(abc.ABC):
    """A streaming problem: samples, gradients and the exact population risk.

    Subclasses provide ``d`` (the input dimension), ``initial_risk``, ``noise_second_moment``
    (E||eps||^2, inf for heavy tails) and the methods below. ``param_shape`` is (d,) unless the
    parameter is a matrix; ``finite_data`` problems draw rows without replacement through
    ``draw_steps`` instead of ``draw``.
    """

    finite_data: ClassVar[bool] = False

    @property
    def param_shape(self) -> tuple[int, ...]:
        """Shape of the parameter: (d,) for a vector, (d, m) for a matrix."""
        return (int(self.d),)  # type: ignore[attr-defined]

    @abc.abstractmethod
    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable description recorded in every result's attributes."""

    @abc.abstractmethod
    def engine_key(self) -> tuple:
        """What compiled code depends on besides the arrays (equal keys reuse compilation)."""

    @abc.abstractmethod
    def engine_arrays(self, dtype: Any) -> dict[str, Any]:
        """Arrays handed to compiled code as arguments (``theta0`` is the start)."""

    @abc.abstractmethod
    def draw(self, arrays: dict, key: jax.Array, batch_size: int, dtype: Any) -> tuple:
        """One batch (inputs, noise) in the eigenbasis, from a JAX key."""

    def rotate(self, arrays: dict, x: jax.Array) -> jax.Array:
        """Inputs drawn in the eigenbasis to the original coordinates (default: identity)."""
        return x

    @staticmethod
    @abc.abstractmethod
    def gradient(arrays: dict, params: jax.Array, batch: tuple, per_sample: bool) -> Any:
        """The mean mini-batch gradient, or the per-sample gradients."""

    @staticmethod
    @abc.abstractmethod
    def risk_jax(arrays: dict, params: jax.Array) -> jax.Array:
        """The exact excess population risk in float64."""

    @staticmethod
    @abc.abstractmethod
    def sq_distance_bound(arrays: dict, params: jax.Array) -> jax.Array:
        """A cheap upper bound of the risk, for divergence checks."""


class GaussianRegression(Problem):
    """A least-squares problem with Gaussian inputs x ~ N(0, K), K = Q diag(lambda) Q^T, and a
    label-noise law: what the theory's laws read (``eigenvalues``, ``basis`` (None: identity),
    ``noise`` or ``sigma``, ``trace``, ``modes``)."""


class FullBatchProblem(Problem):
    """A problem with an exact full-batch gradient and per-subtask losses (``full_gradient``,
    ``subtask_losses_jax``, subtask weights ``p``, ``group``, ``M``, ``loss_star``,
    ``subtask_loss_star``)."""

    @abc.abstractmethod
    def full_gradient(self, arrays: dict, params: jax.Array) -> jax.Array:
        """The exact population gradient (may be a staticmethod)."""

    @abc.abstractmethod
    def subtask_losses_jax(self, arrays: dict, params: jax.Array) -> jax.Array:
        """The exact loss of every subtask (may be a staticmethod)."""
