"""Polar factors of matrices: exact (SVD), exact low-rank (QR) and Newton-Schulz approximations.

For G = U S V^T (thin SVD) the polar factor, or matrix sign, is

    polar(G) = U sign(S) V^T,

keeping only the nonzero singular values, so rank(polar(G)) = rank(G) and
||polar(G)||_F^2 = rank(G) (docs/theory/muon.md section 1.2). In floating point a singular value is
"nonzero" when it exceeds ``rtol * max(S)``, with ``rtol = max(rows, cols) * eps(dtype)`` by default
(the ``numpy.linalg.matrix_rank`` rule). Without that threshold the rounding-level singular values
of a rank-deficient G (a mini-batch gradient has rank <= B) would be mapped to 1 and add an
arbitrary partial isometry on G's null spaces.

Three ways to compute it:

* :func:`polar_svd`: the thin SVD of the dense matrix, O(rows cols min(rows, cols)).
* :func:`polar_lowrank`: for a factored matrix G = s A^T C with A (B, d), C (B, m) and s > 0 -- the
  mini-batch gradient (1/B) X^T E of matrix least squares -- QR factorisations A^T = Q1 R1 and
  C^T = Q2 R2 give polar(G) = Q1 polar(R1 R2^T) Q2^T, exact because Q1 and Q2 have orthonormal
  columns; it costs O((d + m) B^2) plus the O(d m B) of writing the dense result
  (docs/theory/muon.md section 1.2, [D+N] there; re-checked here by tests against
  :func:`polar_svd`).
* :func:`newton_schulz`: the quintic Newton-Schulz iteration of Muon. After normalising
  X_0 = G / (s ||G||_F + eps), each step applies X <- a X + (b A + c A^2) X with A = X X^T, i.e.
  the odd polynomial p(x) = a x + b x^3 + c x^5 to every singular value. Coefficients:

  - ``"keller"``: (a, b, c) = (3.4445, -4.7750, 2.0315) at every step (Keller Jordan, "Muon: An
    optimizer for hidden layers in neural networks", blog post, 2024; KellerJordan/Muon,
    ``zeropower_via_newtonschulz5``). It does not converge to U V^T: the singular values end up
    spread around 1 (about 0.7 to 1.2).
  - ``"polar_express"``: a different, optimal (minimax) quintic per step (Amsel, Persson, Musco,
    Gower, "The Polar Express: Optimal Matrix Sign Methods and Their Application to the Muon
    Algorithm", arXiv 2505.16932, 2025, Algorithm 1): the eight triples of that Algorithm, the
    first seven divided by (1.01, 1.01^3, 1.01^5) for half-precision safety, the last one
    (1.875, -1.25, 0.375) repeated for steps beyond eight, and the input normalised by
    1.01 ||G||_F (s = 1.01). It converges to U V^T.
  - an explicit (3,) triple or (n, 3) table (steps beyond n repeat the last row; s = 1).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lowrank import LowRank

__all__ = [
    "KELLER_COEFFS",
    "POLAR_EXPRESS_COEFFS",
    "POLAR_EXPRESS_RAW",
    "LowRank",
    "polar_svd",
    "polar_lowrank",
    "newton_schulz",
    "ns_coefficient_table",
    "ns_singular_value_map",
    "as_dtype",
    "orthogonalize",
    "shape_factor",
    "round_to",
]

KELLER_COEFFS: tuple[float, float, float] = (3.4445, -4.7750, 2.0315)

# Amsel et al., arXiv 2505.16932, Algorithm 1 (degree 5, l = 1e-3), before the safety factor
POLAR_EXPRESS_RAW: tuple[tuple[float, float, float], ...] = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)
_PE_SAFETY = 1.01
POLAR_EXPRESS_COEFFS: tuple[tuple[float, float, float], ...] = tuple(
    (a / _PE_SAFETY, b / _PE_SAFETY**3, c / _PE_SAFETY**5) for a, b, c in POLAR_EXPRESS_RAW[:-1]
) + (POLAR_EXPRESS_RAW[-1],)

_DTYPES = {"bfloat16": jnp.bfloat16, "float16": jnp.float16, "float32": jnp.float32,
           "float64": jnp.float64}


def as_dtype(value: Any, field: str = "dtype") -> Any:
    """A JAX dtype from None, a name ("bfloat16", "float32", ...) or a dtype; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in _DTYPES:
            raise ConfigError(field, f"expected one of {sorted(_DTYPES)} or None, got {value!r}")
        return _DTYPES[value]
    try:
        dt = jnp.dtype(value)
    except TypeError:
        raise ConfigError(field, f"expected a floating dtype or its name, got {value!r}") from None
    if not jnp.issubdtype(dt, jnp.floating):
        raise ConfigError(field, f"expected a floating dtype, got {dt}")
    return dt


def round_to(x: jax.Array, dtype: Any) -> jax.Array:
    """x rounded to the precision of ``dtype`` (a name or dtype) but kept in x's dtype.

    Uses ``lax.reduce_precision``, which XLA keeps under jit; identity when ``dtype`` is None or
    not narrower than x's dtype.
    """
    dt = as_dtype(dtype)
    if dt is None or jnp.finfo(dt).bits >= jnp.finfo(x.dtype).bits:
        return x
    fi = jnp.finfo(dt)
    return jax.lax.reduce_precision(x, exponent_bits=fi.nexp, mantissa_bits=fi.nmant)


def _rtol(rtol: float | None, shape: tuple[int, ...], dtype: Any) -> float:
    if rtol is not None:
        return float(rtol)
    return max(shape) * float(jnp.finfo(dtype).eps)


def _polar_dense_small(m: jax.Array, rtol: float) -> jax.Array:
    u, s, vt = jnp.linalg.svd(m, full_matrices=False)
    keep = (s > rtol * s[..., :1]).astype(m.dtype)
    return (u * keep[..., None, :]) @ vt


def polar_svd(g: jax.Array, rtol: float | None = None) -> jax.Array:
    """Exact polar factor U sign(S) V^T of a (rows, cols) matrix by its thin SVD.

    Singular values <= ``rtol * max(S)`` count as zero (default rtol = max(rows, cols) * eps).
    polar(0) = 0. Cost O(rows cols min(rows, cols)).
    """
    g = jnp.asarray(g)
    return _polar_dense_small(g, _rtol(rtol, g.shape, g.dtype))


def _after(x: jax.Array, dep: jax.Array) -> jax.Array:
    """x, made to depend on ``dep`` (NaN if dep's first entry is NaN), so that XLA schedules
    whatever consumes x after dep is computed."""
    flag = jnp.isnan(dep.reshape(-1)[0])
    return jnp.where(flag, jnp.asarray(jnp.nan, x.dtype), x)


def polar_lowrank(a: jax.Array, c: jax.Array, rtol: float | None = None) -> jax.Array:
    """Exact polar factor of G = a^T c (any positive scale) through two thin QRs.

    a^T = Q1 R1 (d x k1, k1 x B), c^T = Q2 R2 (m x k2, k2 x B), k = min(dim, B); then
    G = Q1 (R1 R2^T) Q2^T and polar(G) = Q1 polar(R1 R2^T) Q2^T, where only a k1 x k2 SVD is needed
    (docs/theory/muon.md section 1.2). The rank threshold is the one :func:`polar_svd` would use on
    the dense (d, m) matrix, so the two agree to rounding.
    """
    a, c = jnp.asarray(a), jnp.asarray(c)
    if a.ndim != 2 or c.ndim != 2 or a.shape[0] != c.shape[0]:
        raise ConfigError("factors", f"expected a (B, d) and c (B, m), got {a.shape}, {c.shape}")
    tol = _rtol(rtol, (a.shape[1], c.shape[1]), a.dtype)
    # The LAPACK calls (geqrf, orgqr twice, then gesdd) are chained by data dependencies: under
    # vmap each is a batched custom call that blocks an XLA:CPU pool thread while its batch
    # tasks wait for the same pool, so two independent ones started at once deadlock a 2-thread
    # pool (a hang in block_until_ready at d = 256 on 2 cores, jaxlib 0.10.2; optimization
    # barriers do not help, XLA:CPU drops them before scheduling).
    q1, r1 = jnp.linalg.qr(a.T)
    q2, r2 = jnp.linalg.qr(_after(c, q1).T)
    small = _after(r1 @ r2.T, q2)
    core = _polar_dense_small(small, tol)
    return (q1 @ core) @ q2.T


def ns_coefficient_table(coeffs: Any, steps: int) -> tuple[np.ndarray, float]:
    """The (steps, 3) table of per-step (a, b, c) and the norm factor s for Newton-Schulz.

    ``coeffs``: "keller", "polar_express", a (3,) triple or an (n, 3) table; rows beyond the
    table repeat its last row. Returns (table, s) with s = 1.01 for "polar_express" (Amsel et al.
    Algorithm 1 normalises by 1.01 ||G||_F), 1 otherwise.
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ConfigError("ns_steps", f"must be an integer >= 0, got {steps!r}")
    scale = 1.0
    if isinstance(coeffs, str):
        if coeffs == "keller":
            table = np.asarray([KELLER_COEFFS], dtype=float)
        elif coeffs == "polar_express":
            table, scale = np.asarray(POLAR_EXPRESS_COEFFS, dtype=float), _PE_SAFETY
        else:
            raise ConfigError("ns_coeffs", f"expected 'keller', 'polar_express' or an array of "
                              f"(a, b, c) rows, got {coeffs!r}")
    else:
        try:
            table = np.asarray(coeffs, dtype=float)
        except (TypeError, ValueError):
            raise ConfigError("ns_coeffs", f"not numeric: {coeffs!r}") from None
        if table.ndim == 1:
            table = table[None, :]
        if table.ndim != 2 or table.shape[1] != 3 or table.shape[0] == 0:
            raise ConfigError("ns_coeffs", f"must have shape (3,) or (n, 3), got "
                              f"{np.shape(coeffs)}")
        if not np.all(np.isfinite(table)):
            raise ConfigError("ns_coeffs", "contains NaN or infinite entries")
    idx = np.minimum(np.arange(steps), table.shape[0] - 1)
    return table[idx], scale


def newton_schulz(
    g: jax.Array,
    steps: int = 5,
    coeffs: Any = "keller",
    *,
    dtype: Any = None,
    eps: float = 1e-7,
    eps_mode: str = "add",
    norm_scale: float | None = None,
    fused: bool = True,
) -> jax.Array:
    """Approximate polar factor of ``g`` by the quintic Newton-Schulz iteration (Muon's NS5).

        X_0 = G / (s ||G||_F + eps)            (eps_mode="add": Keller Jordan, optax)
        X_0 = G / max(s ||G||_F, eps)          (eps_mode="clamp": torch.optim.Muon)
        X_{t+1} = a_t X_t + (b_t A_t + c_t A_t^2) X_t,   A_t = X_t X_t^T

    computed on the wide orientation (transposed when rows > cols, so A_t is the smaller Gram
    matrix; the result is the same since p(X^T) = p(X)^T). The iteration runs in ``dtype``
    (default: g's dtype; torch and Keller Jordan use bfloat16) and the result is cast back to g's
    dtype; in half precision the products accumulate in float32 and each stored matrix is rounded
    once to ``dtype`` (emulated with ``lax.reduce_precision``, which XLA keeps under jit).
    ``fused=True`` rounds once per fused multiply-add, B_t = b A + c A^2 and a X + B_t X (torch's
    addmm); ``fused=False`` rounds after every product, scaling and sum, in the order of Keller
    Jordan's ``B = b * A + c * A @ A; X = a * X + B @ X`` (the two differ only in half
    precision). ``coeffs`` and the norm factor s are described in :func:`ns_coefficient_table`
    (``norm_scale`` overrides s).
    """
    table, s = ns_coefficient_table(coeffs, steps)
    if norm_scale is not None:
        s = float(norm_scale)
    if eps_mode not in ("add", "clamp"):
        raise ConfigError("eps_mode", f"expected 'add' or 'clamp', got {eps_mode!r}")
    g = jnp.asarray(g)
    if g.ndim != 2:
        raise ConfigError("g", f"Newton-Schulz needs a matrix, got shape {g.shape}")
    out_dtype = g.dtype
    dt = jnp.dtype(as_dtype(dtype) or g.dtype)
    if jnp.finfo(dt).bits < 32:
        # half precision (bfloat16, float16): every stored matrix is rounded to ``dt`` once, the
        # products are accumulated and combined in float32 (as torch's addmm does on CPU and GPU
        # tensor cores). The rounding is lax.reduce_precision on float32 values: under jit, XLA
        # may otherwise keep bf16 intermediates in float32 ("excess precision") and skip it.
        fi = jnp.finfo(dt)
        acc = jnp.float32

        def rnd(v: jax.Array) -> jax.Array:
            return jax.lax.reduce_precision(v, exponent_bits=fi.nexp, mantissa_bits=fi.nmant)
    else:
        acc = dt

        def rnd(v: jax.Array) -> jax.Array:
            return v
    x = rnd(g.astype(acc))  # float64 -> float32 -> dtype, the two roundings torch's cast makes
    wide = x.shape[0] > x.shape[1]
    if wide:
        x = x.T
    hi = jax.lax.Precision.HIGHEST  # no TF32 shortcut for float32 on GPUs
    norm = rnd(jnp.sqrt(jnp.sum(x * x)))
    if s != 1.0:
        norm = rnd(norm * s)
    x = rnd(x / rnd(norm + eps if eps_mode == "add" else jnp.maximum(norm, eps)))
    mm = lambda p, q: jnp.matmul(p, q, precision=hi, preferred_element_type=acc)  # noqa: E731
    for a, b, c in table:
        gram = rnd(mm(x, x.T))
        if fused:
            poly = rnd(float(b) * gram + float(c) * mm(gram, gram))
            x = rnd(float(a) * x + mm(poly, x))
        else:  # (c A) @ A: '*' and '@' bind equally and associate left in Python
            poly = rnd(rnd(float(b) * gram) + rnd(mm(rnd(float(c) * gram), gram)))
            x = rnd(rnd(float(a) * x) + rnd(mm(poly, x)))
    if wide:
        x = x.T
    return x.astype(out_dtype)


def ns_singular_value_map(
    s: Any, steps: int = 5, coeffs: Any = "keller", norm_scale: float | None = None
) -> np.ndarray:
    """The scalar map Newton-Schulz applies to singular values of X_0 (float64, no eps).

    ``s`` are singular values already divided by ||G||_F (so in [0, 1]); the result is the
    composition p_T o ... o p_1 (s / norm factor), p_t(x) = a_t x + b_t x^3 + c_t x^5.
    """
    table, scale = ns_coefficient_table(coeffs, steps)
    if norm_scale is not None:
        scale = float(norm_scale)
    x = np.asarray(s, dtype=float) / scale
    for a, b, c in table:
        x2 = x * x
        x = x * (a + x2 * (b + c * x2))
    return x


def orthogonalize(g: jax.Array, method: str, **ns: Any) -> jax.Array:
    """Dispatch helper: ``"svd"`` (exact) or ``"newton_schulz"`` (with the keyword settings)."""
    if method == "svd":
        return polar_svd(g)
    if method == "newton_schulz":
        return newton_schulz(g, **ns)
    raise ConfigError("polar", f"expected 'svd' or 'newton_schulz', got {method!r}")


def shape_factor(rule: str, d: int, m: int) -> float:
    """Learning-rate shape factor for a (d, m) = (fan_in, fan_out) weight (y = W^T x).

    ``"original"``: sqrt(max(1, m / d)) (Keller Jordan's sqrt(max(1, rows/cols)) on the (out, in)
    matrix W^T, torch.optim.Muon's ``adjust_lr_fn="original"`` and optax's width scaling
    sqrt(max(1, fan_out/fan_in))); ``"match_rms_adamw"``: 0.2 sqrt(max(d, m)) (Liu et al., "Muon
    is scalable for LLM training", arXiv 2502.16982; torch ``"match_rms_adamw"``, optax
    ``consistent_rms=0.2``); ``"none"``: 1.
    """
    if rule == "original":
        return math.sqrt(max(1.0, m / d))
    if rule == "match_rms_adamw":
        return 0.2 * math.sqrt(max(d, m))
    if rule == "none":
        return 1.0
    raise ConfigError("lr_shape_rule", f"expected 'original', 'match_rms_adamw' or 'none', "
                      f"got {rule!r}")
