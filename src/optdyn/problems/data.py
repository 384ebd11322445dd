"""A data set as the population: least squares on real features, one pass without replacement.

The real-data experiments of Marshall, Xiao, Agarwala, Paquette ("To Clip or not to Clip",
arXiv 2406.11733, section 5 and appendix H) and the pitfalls of docs/theory/clipping.md section A.8
( A.10.4): features are centred, optionally mapped through random features tanh(X W) and centred
again; the empirical covariance K = F^T F / n is normalised to ||K||_op = 1 (so the intrinsic
dimension Tr K / ||K|| is Tr K); the target theta* is the least-squares solution on the whole set,
so the "noise" is the least-squares residual eps_i = y_i - <f_i, theta*>; SGD makes one pass over a
shuffled copy (epochs reshuffle). The excess risk (1/2)(theta - theta*)^T K (theta - theta*) is
then exactly the excess training loss on the set.

The theory sees K's spectrum, theta*, theta0 and a *model* of the residual law (a Gaussian with the
residuals' second moment, or a fitted Gaussian mixture); it assumes Gaussian inputs, independent
of the residual, which real data are not: the agreement is an empirical question, to be measured.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn.noise.fit import fit_gaussian, fit_gaussian_mixture
from optdyn.problems.linear_regression import LinearRegression

__all__ = ["DataRegression", "load_features", "sklearn_dataset"]

NOISE_MODELS = ("gaussian", "mixture")


@dataclasses.dataclass(frozen=True, eq=False)
class DataRegression(LinearRegression):
    """Least squares on a finite data set, sampled one pass at a time without replacement.

    Build it with :meth:`from_arrays` (or :meth:`from_file`), which does the preprocessing. The
    fields of :class:`LinearRegression` describe the population the theory sees (``covariance`` is
    the empirical K, ``theta_star`` the least-squares solution, ``noise`` the residual model);
    ``features`` (n, d) and ``targets`` (n,) are the data the simulation streams, in the order of
    a per-seed random permutation of every epoch of n samples.
    """

    finite_data = True

    features: Any = None
    targets: Any = None
    source: str = "arrays"
    preprocessing: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        f = np.asarray(self.features, dtype=float)
        y = np.asarray(self.targets, dtype=float)
        if f.ndim != 2 or f.shape[1] != self.d:
            raise ConfigError("features", f"must have shape (n, {self.d}), got {f.shape}")
        if y.shape != (f.shape[0],):
            raise ConfigError("targets", f"must have shape ({f.shape[0]},), got {y.shape}")
        object.__setattr__(self, "features", f)
        object.__setattr__(self, "targets", y)
        object.__setattr__(self, "residuals", y - f @ self.theta_star)

    # ------------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        X: Any,
        y: Any,
        *,
        random_features: int | None = None,
        activation: str = "tanh",
        standardize: bool = True,
        noise_model: str = "gaussian",
        n_components: int = 3,
        init_scale: float = 0.4,
        seed: int = 0,
        source: str = "arrays",
    ) -> DataRegression:
        """Preprocess a data matrix X (n, p) and targets y (n,) into a problem.

        Steps: centre X's columns and divide each by its standard deviation (``standardize``;
        constant columns are dropped), or else divide X by its root mean square entry (one
        scalar), so that random-feature pre-activations are O(1); if ``random_features = D``, map
        F = activation(X W) with W_ij ~ N(0, 1/p) (seeded) and centre F's columns, else F = X;
        centre y; K = F^T F / n; divide F by sqrt(||K||_op) so that ||K||_op = 1;
        theta* = argmin ||F theta - y|| (minimum norm); theta0 = theta* + init_scale N(0, I)
        (seeded); residual model ``"gaussian"`` (N(0, mean eps^2)) or ``"mixture"``
        (``n_components``-component Gaussian mixture fitted by EM).
        """
        x = np.asarray(X, dtype=float)
        t = np.asarray(y, dtype=float).reshape(-1)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ConfigError("X", f"must be a 2-D array (n samples, p features), got {x.shape}")
        if t.shape[0] != x.shape[0]:
            raise ConfigError("y", f"has {t.shape[0]} entries for {x.shape[0]} samples")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t))):
            raise ConfigError("X", "X and y must be finite")
        if noise_model not in NOISE_MODELS:
            raise ConfigError("noise_model", f"expected one of {NOISE_MODELS}, got "
                              f"{noise_model!r}")
        if not (isinstance(init_scale, int | float) and init_scale >= 0):
            raise ConfigError("init_scale", f"must be >= 0, got {init_scale!r}")
        n, p = x.shape
        x = x - x.mean(axis=0)
        sd = x.std(axis=0)
        if not np.any(sd > 0):
            raise ConfigError("X", "all features are constant")
        if standardize:
            x = x[:, sd > 0] / sd[sd > 0]
        else:
            x = x / math.sqrt(float(np.mean(x * x)))
        p = x.shape[1]
        rng = np.random.default_rng(seed)
        if random_features is not None:
            if isinstance(random_features, bool) or not isinstance(random_features, int) or (
                    random_features < 1):
                raise ConfigError("random_features", f"must be a positive integer, got "
                                  f"{random_features!r}")
            acts = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}
            if activation not in acts:
                raise ConfigError("activation", f"expected one of {sorted(acts)}, got "
                                  f"{activation!r}")
            w = rng.standard_normal((p, random_features)) / math.sqrt(p)
            f = acts[activation](x @ w)
            f = f - f.mean(axis=0)
        else:
            f = x
        t = t - t.mean()
        k = f.T @ f / n
        op = float(np.linalg.eigvalsh(k)[-1])
        if not op > 0:
            raise ConfigError("X", "the feature covariance is zero")
        f = f / math.sqrt(op)
        k = f.T @ f / n
        k = 0.5 * (k + k.T)
        theta_star = np.linalg.lstsq(f, t, rcond=None)[0]
        theta0 = theta_star + init_scale * rng.standard_normal(f.shape[1])
        resid = t - f @ theta_star
        noise = (fit_gaussian(resid) if noise_model == "gaussian"
                 else fit_gaussian_mixture(resid, n_components, seed=seed))
        prep = {"n": n, "p": p, "random_features": random_features, "activation": activation,
                "standardize": standardize, "noise_model": noise_model,
                "init_scale": init_scale, "seed": seed, "op_norm_before": op}
        return cls(covariance=k, theta_star=theta_star, theta0=theta0, noise=noise,
                   features=f, targets=t, source=source, preprocessing=prep, seed=seed)

    @classmethod
    def from_file(cls, path: str | Path, y: Any = None, **kwargs: Any) -> DataRegression:
        """:meth:`from_arrays` on a user feature file (see :func:`load_features`)."""
        X, t = load_features(path, y)
        return cls.from_arrays(X, t, source=str(path), **kwargs)

    # ------------------------------------------------------------------------ descriptions
    @property
    def n(self) -> int:
        """Number of samples (one pass = n samples)."""
        return int(self.features.shape[0])

    @property
    def intrinsic_dimension(self) -> float:
        """Tr K / ||K||_op (= Tr K after the normalisation)."""
        return float(self.trace / self.op_norm)

    def to_config(self) -> dict[str, Any]:
        cfg = super().to_config()
        h = hashlib.sha256(np.ascontiguousarray(self.features).tobytes())
        h.update(np.ascontiguousarray(self.targets).tobytes())
        cfg.update(kind="data", source=self.source, n=self.n,
                   preprocessing=self.preprocessing, data_digest=h.hexdigest()[:16],
                   intrinsic_dimension=self.intrinsic_dimension)
        return cfg

    # -------------------------------------------------- what the simulation engine uses
    def engine_key(self) -> tuple:
        return (type(self).__name__, self.d, self.n, self.noise)

    def engine_arrays(self, dtype: Any) -> dict[str, jax.Array | None]:
        arrays = super().engine_arrays(dtype)
        arrays["data_x"] = jnp.asarray(self.features, dtype)
        arrays["data_eps"] = jnp.asarray(self.residuals, dtype)
        return arrays

    def draw_steps(self, arrays: dict, keys: jax.Array, step_ids: jax.Array, batch_size: int,
                   dtype: Any) -> tuple[jax.Array, jax.Array]:
        """Rows for steps ``step_ids`` (L,) of every seed (keys (S,)): sample i = (k-1) B + b of
        a seed is row perm_e[i mod n] with e = i div n and perm_e a permutation drawn from
        fold_in(seed key, e): one pass without replacement per epoch, reshuffled each epoch.
        Returns x (L, S, B, d) in the original coordinates and eps (L, S, B)."""
        n, L = self.n, step_ids.shape[0]
        idx = (step_ids[:, None] - 1) * batch_size + jnp.arange(batch_size)  # (L, B)
        ep0 = idx[0, 0] // n
        n_ep = (L * batch_size) // n + 2  # epochs a block can touch
        epochs = ep0 + jnp.arange(n_ep)

        def perms(key):
            return jax.vmap(lambda e: jax.random.permutation(jax.random.fold_in(key, e), n))(
                epochs)

        pm = jax.vmap(perms)(keys)  # (S, n_ep, n)
        rows = pm[:, idx // n - ep0, idx % n]  # (S, L, B)
        rows = jnp.moveaxis(rows, 0, 1)  # (L, S, B)
        return arrays["data_x"][rows], arrays["data_eps"][rows]

    def rotate(self, arrays: dict, x: jax.Array) -> jax.Array:
        """Data rows are already in the original coordinates."""
        return x


def load_features(path: str | Path, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a user feature file: ``.npz`` with arrays ``X`` (n, p) and ``y`` (n,) (or
    ``features``/``targets``), or ``.npy`` with an (n, p + 1) matrix whose last column is the
    target; ``y`` given here overrides the file's targets (then a ``.npy`` holds X only)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("path", f"no such file: {path}")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            xk = next((k for k in ("X", "features") if k in keys), None)
            yk = next((k for k in ("y", "targets") if k in keys), None)
            if xk is None:
                raise ConfigError("path", f"{path} has no array 'X' (or 'features'); it has "
                                  f"{sorted(keys)}")
            X = np.asarray(z[xk], dtype=float)
            t = np.asarray(z[yk], dtype=float) if yk is not None else None
    elif path.suffix == ".npy":
        a = np.asarray(np.load(path, allow_pickle=False), dtype=float)
        if a.ndim != 2:
            raise ConfigError("path", f"{path} must hold a 2-D array, got shape {a.shape}")
        X, t = (a, None) if y is not None else (a[:, :-1], a[:, -1])
    else:
        raise ConfigError("path", f"expected a .npz or .npy file, got {path.name}")
    if y is not None:
        t = np.asarray(y, dtype=float)
    if t is None:
        raise ConfigError("y", f"{path} holds no targets ('y'); pass y=")
    return X, t


def sklearn_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A data set that ships inside scikit-learn (no download), as (X, y) with y in {-1, +1}:
    ``"digits"`` (8x8 images of digits, 1797 x 64; y = +1 for digits 5-9) and
    ``"breast_cancer"`` (Wisconsin diagnostic, 569 x 30; y = +1 for benign)."""
    try:
        from sklearn import datasets
    except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
        raise ConfigError("dataset", "scikit-learn is needed for the shipped data sets") from e
    if name == "digits":
        X, lab = datasets.load_digits(return_X_y=True)
        return X.astype(float), np.where(lab >= 5, 1.0, -1.0)
    if name == "breast_cancer":
        X, lab = datasets.load_breast_cancer(return_X_y=True)
        return X.astype(float), np.where(lab == 1, 1.0, -1.0)
    raise ConfigError("dataset", f"expected 'digits' or 'breast_cancer', got {name!r}")
