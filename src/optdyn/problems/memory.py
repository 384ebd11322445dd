"""Linear associative memory with softmax retrieval and a hierarchical frequency spectrum.

Model (Li, Wang, Zhong, Lu, Wang, "Muon in Associative Memory Learning", arXiv 2602.05725,
section 2; docs/theory/memory.md section B.2): K query-answer pairs j = 1..K, query embeddings E =
[E_1..E_K] and answer embeddings Et = [Et_1..Et_K] in R^d (d = K by default), and one matrix W in
R^(d x d). Retrieval is a softmax over the answers,

    phat_{i|j}(W) = exp(Et_i^T W E_j) / sum_k exp(Et_k^T W E_j).

Queries come in M frequency groups of C = K / M items; group g (1-based) has mass pt_g
(pt_g proportional to g^(-beta), or given), and item j of group g has query frequency
p_j = pt_g / C. Answers carry label noise alpha: p_{i|j} = (1 - alpha) 1[i = j] + alpha / K. The
loss is the cross-entropy

    L(W) = sum_j p_j L_j(W),    L_j(W) = -sum_i p_{i|j} log phat_{i|j}(W),

whose infimum is the conditional entropy L* = sum_j p_j H(p_{.|j}) (attained for alpha > 0, the
limit of W = t Et E^T, t -> inf, for alpha = 0, where L* = 0). Its exact gradient has the
"frequency x residual x association" form

    grad L(W) = sum_{i,j} p_j (phat_{i|j} - p_{i|j}) Et_i E_j^T = Et (Phat - P) diag(p) E^T,

with Phat[i, j] = phat_{i|j} and P[i, j] = p_{i|j}. A stochastic mini-batch draws B pairs
j ~ p, i ~ p_{.|j} and averages the per-sample gradients Et (phat_{.|j} - e_i) E_j^T, an unbiased
estimate of grad L.

Embeddings: ``"identity"`` (E = Et = I), ``"haar"`` (independent Haar-random orthogonal E and Et,
the generic orthonormal case), or ``"gaussian"`` (i.i.d. N(0, 1/d) entries, near-orthogonal with
norms close to 1 when d >> log K; docs/theory/memory.md section B.2 notes that the paper relaxes to
this case [U]).

The problem plugs into both :func:`optdyn.simulate.run` (streaming mini-batches; its ``risk`` is
the excess loss L - L*, its ``loss`` is L, and its time t = samples / K) and
:func:`optdyn.simulate.full_batch.run` (exact full-batch gradients, per-group losses).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.registry import register
from optdyn.problems.base import FullBatchProblem
from optdyn.problems.spectra import haar_orthogonal

__all__ = ["AssociativeMemory"]

_EMBEDDINGS = ("identity", "haar", "gaussian")


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


@register("problem", "associative_memory")
@dataclasses.dataclass(frozen=True, eq=False)
class AssociativeMemory(FullBatchProblem):
    """Softmax associative memory of K pairs in M frequency groups (arXiv 2602.05725, sec. 2).

    Args:
        K: number of query-answer pairs (a positive multiple of M).
        M: number of frequency groups; C = K / M items per group.
        beta: power-law exponent of the group masses pt_g proportional to g^(-beta)
            (finite; ignored when ``group_masses`` is given).
        label_noise: alpha in [0, 1): p_{i|j} = (1 - alpha) 1[i = j] + alpha / K.
        embeddings: ``"identity"``, ``"haar"`` or ``"gaussian"`` (see the module docstring).
        group_masses: explicit group masses (M positive numbers, normalised to sum 1).
        dim: embedding dimension d (default K; must be >= K for orthogonal embeddings).
        seed: seed of the random embeddings.

    Attributes after construction: ``p`` (query frequencies, float64, length K), ``group``
    (group index of each item), ``group_mass`` (M masses), ``P`` (the K x K answer law, column j
    is p_{.|j}), ``E`` and ``Et`` (d x K embeddings), ``loss_star`` (L*).
    """

    K: int
    M: int = 1
    beta: float = 0.0
    label_noise: float = 0.0
    embeddings: str = "identity"
    group_masses: Any = None
    dim: Any = None
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        for f in ("K", "M", "seed"):
            v = getattr(self, f)
            low = 0 if f == "seed" else 1
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise ConfigError(f, f"must be an integer >= {low}, got {v!r}")
        K, M = int(self.K), int(self.M)
        if K % M:
            raise ConfigError("M", f"must divide K (C = K / M items per group), got K={K}, "
                              f"M={M}")
        if isinstance(self.beta, bool) or not isinstance(self.beta, int | float | np.number) \
                or not np.isfinite(self.beta):
            raise ConfigError("beta", f"must be a finite number, got {self.beta!r}")
        a = self.label_noise
        if isinstance(a, bool) or not isinstance(a, int | float | np.number) or not 0 <= a < 1:
            raise ConfigError("label_noise", f"must lie in [0, 1), got {a!r}")
        if self.embeddings not in _EMBEDDINGS:
            raise ConfigError("embeddings", f"expected one of {list(_EMBEDDINGS)}, got "
                              f"{self.embeddings!r}")
        d = K if self.dim is None else self.dim
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
            raise ConfigError("dim", f"must be a positive integer, got {self.dim!r}")
        d = int(d)
        if self.embeddings != "gaussian" and d < K:
            raise ConfigError("dim", f"orthogonal embeddings need dim >= K, got dim={d}, K={K}")
        if self.group_masses is None:
            g = np.arange(1, M + 1, dtype=float) ** (-float(self.beta))
        else:
            g = np.asarray(self.group_masses, dtype=float)
            if g.shape != (M,):
                raise ConfigError("group_masses", f"has shape {g.shape}, expected ({M},)")
            if not np.all(np.isfinite(g)) or np.any(g <= 0):
                raise ConfigError("group_masses", "must be finite and > 0")
        g = g / g.sum()
        C = K // M
        set_("K", K)
        set_("M", M)
        set_("dim", d)
        set_("label_noise", float(a))
        set_("group_mass", g)
        set_("group", np.repeat(np.arange(M), C))
        set_("p", np.repeat(g / C, C))
        P = (1 - float(a)) * np.eye(K) + float(a) / K
        set_("P", P)
        rng = np.random.default_rng([self.seed, 7])
        if self.embeddings == "identity":
            E = Et = np.eye(d)[:, :K]
        elif self.embeddings == "haar":
            E = haar_orthogonal(d, int(rng.integers(2**31)))[:, :K]
            Et = haar_orthogonal(d, int(rng.integers(2**31)))[:, :K]
        else:
            E = rng.standard_normal((d, K)) / np.sqrt(d)
            Et = rng.standard_normal((d, K)) / np.sqrt(d)
        set_("E", np.ascontiguousarray(E))
        set_("Et", np.ascontiguousarray(Et))
        # conditional entropy H(p_{.|j}) is the same for every j
        h = -float(_xlogy(P[:, 0], P[:, 0]).sum())
        set_("subtask_loss_star", np.full(K, h))
        set_("loss_star", h)

    # ----------------------------------------------------------------------- descriptions
    @property
    def C(self) -> int:
        """Group size C = K / M."""
        return self.K // self.M

    @property
    def d(self) -> int:
        """Number of pairs K (the engine's time unit: t = samples / K)."""
        return self.K

    @property
    def param_shape(self) -> tuple[int, int]:
        """Shape (dim, dim) of W."""
        return (self.dim, self.dim)

    @property
    def w0(self) -> np.ndarray:
        """The start W0 = 0 (the paper's initialisation)."""
        return np.zeros(self.param_shape)

    @property
    def group_loss_star(self) -> np.ndarray:
        """Per-group minimum (the conditional entropy, equal for every group)."""
        return np.full(self.M, self.loss_star)

    @property
    def noise_second_moment(self) -> float:
        """2 L*, so that the engine's ``loss = risk + noise_second_moment / 2`` is L."""
        return 2.0 * self.loss_star

    @property
    def initial_risk(self) -> float:
        """L(W0) - L* = log K - L* at W0 = 0."""
        return float(self.excess_loss(self.w0))

    # ----------------------------------------------------------------------- exact quantities
    def logits(self, w: np.ndarray) -> np.ndarray:
        """Task-space scores Et^T W E (..., K, K): entry [i, j] is answer i's logit for query j."""
        w = np.asarray(w, dtype=float)
        return np.einsum("di,...de,ej->...ij", self.Et, w, self.E)

    def retrieval(self, w: np.ndarray) -> np.ndarray:
        """Phat[i, j] = phat_{i|j}(W), the softmax over answers i of each query column j."""
        z = self.logits(w)
        z = z - z.max(axis=-2, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-2, keepdims=True)

    def subtask_losses(self, w: np.ndarray) -> np.ndarray:
        """L_j(W) = -sum_i p_{i|j} log phat_{i|j}(W), shape (..., K) (a stable log-softmax)."""
        z = self.logits(w)
        zmax = z.max(axis=-2, keepdims=True)
        lse = np.log(np.exp(z - zmax).sum(axis=-2, keepdims=True)) + zmax
        return -np.sum(self.P * (z - lse), axis=-2)

    def group_losses(self, w: np.ndarray) -> np.ndarray:
        """Mean subtask loss of each group, shape (..., M) (items of a group share p_j)."""
        lj = self.subtask_losses(w)
        return lj.reshape(lj.shape[:-1] + (self.M, self.C)).mean(-1)

    def loss(self, w: np.ndarray) -> np.ndarray:
        """L(W) = sum_j p_j L_j(W)."""
        return self.subtask_losses(w) @ self.p

    def excess_loss(self, w: np.ndarray) -> np.ndarray:
        """L(W) - L*."""
        return self.loss(w) - self.loss_star

    def gradient_exact(self, w: np.ndarray) -> np.ndarray:
        """grad L(W) = Et (Phat - P) diag(p) E^T (float64, NumPy)."""
        r = (self.retrieval(w) - self.P) * self.p
        return self.Et @ r @ self.E.T

    def sample_pairs(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        """B pairs (j, i): queries j ~ p, answers i ~ p_{.|j} (int32 arrays of length B)."""
        arrays = self.engine_arrays(jnp.float64)
        return self.draw(arrays, key, batch_size, jnp.float64)

    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable description recorded in every result's attributes."""
        h = hashlib.sha256(np.ascontiguousarray(np.stack([self.E, self.Et])).tobytes())
        return {
            "problem": "AssociativeMemory",
            "K": self.K, "M": self.M, "C": self.C, "beta": float(self.beta),
            "label_noise": self.label_noise, "embeddings": self.embeddings, "dim": self.dim,
            "group_masses": self.group_mass.tolist(), "seed": self.seed,
            "loss_star": self.loss_star, "initial_risk": self.initial_risk,
            "digest": h.hexdigest()[:16],
        }

    # ------------------------------------------------------- what the engines use (JAX)
    def engine_key(self) -> tuple:
        """Structure the compiled code depends on."""
        return (type(self).__name__, self.K, self.dim, self.M)

    def engine_arrays(self, dtype: Any) -> dict[str, jax.Array]:
        """Arrays handed to the compiled engines (``theta0`` is W0 = 0)."""
        f64 = jnp.float64
        return {
            "E": jnp.asarray(self.E, dtype), "Et": jnp.asarray(self.Et, dtype),
            "P": jnp.asarray(self.P, dtype), "p": jnp.asarray(self.p, dtype),
            "log_p": jnp.asarray(np.log(self.p), dtype),
            "alpha": jnp.asarray(self.label_noise, dtype),
            "theta0": jnp.asarray(self.w0, dtype),
            "E64": jnp.asarray(self.E, f64), "Et64": jnp.asarray(self.Et, f64),
            "P64": jnp.asarray(self.P, f64), "p64": jnp.asarray(self.p, f64),
            "loss_star64": jnp.asarray(self.loss_star, f64),
        }

    def draw(self, arrays: dict, key: jax.Array, batch_size: int,
             dtype: Any) -> tuple[jax.Array, jax.Array]:
        """Queries j ~ p and answers i: i = j with prob. 1 - alpha, else uniform over K."""
        kq, kn, ku = jax.random.split(key, 3)
        j = jax.random.categorical(kq, arrays["log_p"].astype(jnp.float32), shape=(batch_size,))
        noisy = jax.random.uniform(kn, (batch_size,)) < arrays["alpha"]
        u = jax.random.randint(ku, (batch_size,), 0, self.K)
        return j.astype(jnp.int32), jnp.where(noisy, u, j).astype(jnp.int32)

    def rotate(self, arrays: dict, x: jax.Array) -> jax.Array:
        """No-op (the engine's hook for rotated inputs)."""
        return x

    @staticmethod
    def full_gradient(arrays: dict, params: jax.Array) -> jax.Array:
        """Exact gradient Et (Phat - P) diag(p) E^T in JAX."""
        z = arrays["Et"].T @ params @ arrays["E"]
        r = (jax.nn.softmax(z, axis=0) - arrays["P"]) * arrays["p"]
        return arrays["Et"] @ r @ arrays["E"].T

    @staticmethod
    def gradient(arrays: dict, params: jax.Array, batch: tuple, per_sample: bool) -> jax.Array:
        """Mini-batch gradient (1/B) sum_b Et (phat_{.|j_b} - e_{i_b}) E_{j_b}^T."""
        j, i = batch
        eq = arrays["E"][:, j]  # (d, B)
        z = arrays["Et"].T @ (params @ eq)  # (K, B)
        r = jax.nn.softmax(z, axis=0) - jax.nn.one_hot(i, z.shape[0], dtype=z.dtype).T
        g = arrays["Et"] @ r @ eq.T / j.shape[0]
        if per_sample:
            raise ConfigError("optimizer", "AssociativeMemory gives mean gradients only")
        return g

    @staticmethod
    def subtask_losses_jax(arrays: dict, params: jax.Array) -> jax.Array:
        """L_j(W) in float64, shape (K,)."""
        w = params.astype(jnp.float64)
        z = arrays["Et64"].T @ w @ arrays["E64"]
        return -jnp.sum(arrays["P64"] * jax.nn.log_softmax(z, axis=0), axis=0)

    @classmethod
    def risk_jax(cls, arrays: dict, params: jax.Array) -> jax.Array:
        """Excess loss L(W) - L* in float64 (the engine's ``risk``)."""
        return cls.subtask_losses_jax(arrays, params) @ arrays["p64"] - arrays["loss_star64"]

    @classmethod
    def sq_distance_bound(cls, arrays: dict, params: jax.Array) -> jax.Array:
        """The excess loss itself (the engine's divergence check)."""
        return cls.risk_jax(arrays, params)
