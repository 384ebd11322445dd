"""The algebraic equations of the one-layer conjugate-kernel law, and its closed-form special cases.

Model (docs/theory/rmt.md section 1): M = (1/m) Y Y^T, Y = f(W X / sqrt(n0)), W (n1 x n0), X (n0 x
m), gamma = n1/m, psi = n0/n1, phi = n0/m = gamma psi, S(z) = lim (1/n1) tr (M - z)^{-1}.

* The quartic (docs/theory/rmt.md eq. (Q); Benigni & Peche, EJP 2021, thm 2.3; lecture-note form
with the factor S
  restored in the theta2 term), with u = 1 + zS, v = 1 - gamma u, delta = theta1 - theta2:

      u = theta1 S v - (theta2/psi) S u v + (theta2 delta / psi) S^2 v^2,

  i.e. k4 S^4 + k3 S^3 + k2 S^2 + k1 S + k0 = 0 with the k's of :func:`quartic_coefficients`.
* The Pennington-Worah form (Pennington & Worah, NeurIPS 2017, eq. 10): G = -S,
  G(z) = (psi/z) P(1/(z psi)) + (1 - psi)/z with

      P = 1 + (eta - zeta) t P_phi P_psi + P_phi P_psi t zeta / (1 - P_phi P_psi t zeta),
      P_phi = 1 + (P - 1) phi,  P_psi = 1 + (P - 1) psi,  eta = theta1, zeta = theta2.

  :func:`pw_coefficients` clears the denominator with its own polynomial arithmetic (an independent
  code path; the tests check that both give the same S to 1e-10).
* theta2 = 0 (vanishing linear coefficient): Marchenko-Pastur of variance theta1 and ratio gamma
  (Pennington & Worah 2017, section 4; Benigni & Peche 2021, remark 2.5).
* theta1 = theta2 (linear f): the product-Wishart law, the free multiplicative convolution
  MP(phi) x MP(psi) on the n0 side; with w = z G_0(z) - 1 (G_0 on the n0 side) its S-transform
  S(w) = psi / (theta (1 + phi w)(1 + psi w)) gives the cubic
  theta (1+w)(1+phi w)(1+psi w) = psi z w
  (Voiculescu's multiplicativity; Burda et al., PRE 82 (2010) 061114), solved in closed form by
  :func:`product_wishart_density`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "quartic_coefficients",
    "pw_coefficients",
    "pw_to_stieltjes",
    "marchenko_pastur_density",
    "marchenko_pastur_stieltjes",
    "product_wishart_density",
]


def quartic_coefficients(z: np.ndarray, theta1: float, theta2: float, gamma: float,
                         psi: float) -> np.ndarray:
    """Coefficients (k4, k3, k2, k1, k0) of the quartic (Q) in S at each z, shape (N, 5).

        k4 = gamma^2 theta2 delta z^2,   k3 = gamma theta2 z (z - 2 (1 - gamma) delta),
        k2 = theta2 delta (1-gamma)^2 + z (theta2 (2 gamma - 1) - gamma psi theta1),
        k1 = (1 - gamma)(psi theta1 - theta2) - psi z,   k0 = -psi     (delta = theta1 - theta2).
    """
    z = np.asarray(z, dtype=complex)
    d = theta1 - theta2
    g = gamma
    one = np.ones_like(z)
    return np.stack([
        g * g * theta2 * d * z * z,
        g * theta2 * z * (z - 2.0 * (1.0 - g) * d),
        theta2 * d * (1.0 - g) ** 2 * one + z * (theta2 * (2.0 * g - 1.0) - g * psi * theta1),
        (1.0 - g) * (psi * theta1 - theta2) * one - psi * z,
        -psi * one,
    ], axis=1)


def _pmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched polynomial product, coefficients lowest power first along the last axis."""
    out = np.zeros(a.shape[:-1] + (a.shape[-1] + b.shape[-1] - 1,), dtype=complex)
    for i in range(a.shape[-1]):
        out[..., i:i + b.shape[-1]] += a[..., i:i + 1] * b
    return out


def _padd(*ps: np.ndarray) -> np.ndarray:
    n = max(p.shape[-1] for p in ps)
    out = np.zeros(ps[0].shape[:-1] + (n,), dtype=complex)
    for p in ps:
        out[..., :p.shape[-1]] += p
    return out


def pw_coefficients(z: np.ndarray, eta: float, zeta: float, phi: float, psi: float) -> np.ndarray:
    """Coefficients (highest first, (N, 5)) in P of the Pennington-Worah equation, t = 1/(z psi).

    (P - 1 - (eta - zeta) t A)(1 - zeta t A) - zeta t A = 0,  A = P_phi P_psi (quadratic in P).
    """
    z = np.asarray(z, dtype=complex)
    t = (1.0 / (z * psi))[:, None]
    ones = np.ones_like(t)
    p_phi = np.concatenate([(1.0 - phi) * ones, phi * ones], axis=1)
    p_psi = np.concatenate([(1.0 - psi) * ones, psi * ones], axis=1)
    a = _pmul(p_phi, p_psi)  # degree 2
    first = _padd(np.concatenate([-ones, ones], axis=1), -(eta - zeta) * t * a)
    second = _padd(ones, -zeta * t * a)
    poly = _padd(_pmul(first, second), -zeta * t * a)
    return poly[:, ::-1]


def pw_to_stieltjes(p: np.ndarray, z: np.ndarray, psi: float) -> np.ndarray:
    """S = -G = -((psi/z) P + (1 - psi)/z)."""
    return -(psi * p + 1.0 - psi) / z


def marchenko_pastur_density(x: np.ndarray, variance: float, ratio: float) -> np.ndarray:
    """Continuous part of MP(variance v, ratio c) (Marchenko & Pastur 1967):

    rho(x) = sqrt((b - x)(x - a)) / (2 pi v c x) on [a, b], a, b = v (1 -+ sqrt c)^2
    (mass min(1, 1/c); the atom 1 - 1/c at 0 when c > 1 is not included).
    """
    x = np.asarray(x, dtype=float)
    a = variance * (1.0 - np.sqrt(ratio)) ** 2
    b = variance * (1.0 + np.sqrt(ratio)) ** 2
    inside = (x > a) & (x < b) & (x > 0)
    xs = np.where(inside, x, 1.0)
    val = np.sqrt(np.clip((b - xs) * (xs - a), 0.0, None)) / (2 * np.pi * variance * ratio * xs)
    return np.where(inside, val, 0.0)


def marchenko_pastur_stieltjes(z: np.ndarray, variance: float, ratio: float) -> np.ndarray:
    """S(z) of MP(v, c): the root of c v z S^2 + (z - v(1 - c)) S + 1 = 0 with S ~ -1/z at infinity.

    The branch is fixed by continuity from infinity: S = (-(z - v(1-c)) + r)/(2 c v z) with
    r = sqrt((z-a)(z-b)) taken as sqrt(z-a) sqrt(z-b) (principal roots; r ~ z at infinity).
    """
    z = np.asarray(z, dtype=complex)
    a = variance * (1.0 - np.sqrt(ratio)) ** 2
    b = variance * (1.0 + np.sqrt(ratio)) ** 2
    r = np.sqrt(z - a) * np.sqrt(z - b)
    return (-(z - variance * (1.0 - ratio)) + r) / (2.0 * ratio * variance * z)


def product_wishart_density(x: np.ndarray, theta: float, phi: float, psi: float) -> np.ndarray:
    """Density (x > 0) of the n1-side law of (theta/(m n0)) W X X^T W^T, in closed form.

    With w = x G_0(x + i0) - 1 on the n0 side, theta (1+w)(1+phi w)(1+psi w) - psi x w = 0 is a real
    cubic; inside the support it has one pair of complex conjugate roots (negative discriminant)
    and rho_{n0}(x) = |Im w| / (pi x); the n1 side has rho(x) = psi rho_{n0}(x). The complex pair
    is computed by Cardano's formula.
    """
    x = np.asarray(x, dtype=float)
    # theta (phi psi w^3 + (phi + psi + phi psi) w^2 + (1 + phi + psi) w + 1) - psi x w = 0
    a = theta * phi * psi
    b = theta * (phi + psi + phi * psi)
    c = theta * (1.0 + phi + psi) - psi * x
    d = theta * np.ones_like(x)
    # depressed cubic w = y - b/(3a): y^3 + p y + q = 0
    p = (3 * a * c - b * b) / (3 * a * a)
    q = (2 * b**3 - 9 * a * b * c + 27 * a * a * d) / (27 * a**3)
    disc = (q / 2) ** 2 + (p / 3) ** 3  # > 0: one real root and a complex pair
    sq = np.sqrt(np.clip(disc, 0.0, None))
    u = np.cbrt(-q / 2 + sq)
    v = np.cbrt(-q / 2 - sq)
    im_w = (np.sqrt(3.0) / 2.0) * np.abs(u - v)  # imaginary part of the complex pair
    rho0 = np.where((disc > 0) & (x > 0), im_w / (np.pi * np.where(x > 0, x, 1.0)), 0.0)
    return psi * rho0
