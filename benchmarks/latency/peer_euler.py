"""The reference for bench_latency.py: a risk ODE by forward Euler in NumPy, the way papers'
notebooks compute their theory curves (written for optdyn, from the equations of
docs/theory/signsgd.md section 4.2 and docs/theory/clipping.md section A.5, in per-step time k).

    python peer_euler.py sign|clip OUT.npy

Problem (the same as first_curve.py): diagonal K with eigenvalues lam_j = j^-1, target
theta*_j = j^-0.5 / ||.||, theta0 = 0, Gaussian label noise, batch 1.

- signSGD, d = 400, lr = 1e-3, 10^4 steps, Euler step dt = 0.001 in t = k/d (0.4 steps):
  dv_j/dk = -2 lr c(R) l_j v_j + lr^2 l_j / 2,  l_j = sqrt(lam_j),  c = (2/pi) / sqrt(2R + s^2).
- clipped SGD, d = 500, lr = 0.05 / Tr K, residual threshold c = 0.5 (gradient-norm threshold
  c sqrt(Tr K)), 10^6 steps, dt = 0.02 in t = k/d (10 steps):
  dv_j/dk = -2 lr mu(R) lam_j v_j + lr^2 lam_j nubar(R) / 2,  mu = erf(z / sqrt 2),
  nubar = (2R + s^2) [erf(z / sqrt 2) - sqrt(2/pi) z e^{-z^2/2}] + c^2 erfc(z / sqrt 2),
  z = c / sqrt(2R + s^2).
Writes the risk at every Euler step (k, R) as a (2, n) array.
"""

import sys
import time

import numpy as np
from scipy import special

CASES = {"sign": dict(d=400, steps=10_000, dt=0.001, sigma=0.1),
         "clip": dict(d=500, steps=1_000_000, dt=0.02, sigma=0.5, c=0.5)}


def problem(d: int):
    lam = np.arange(1, d + 1, dtype=float) ** -1.0
    ts = np.arange(1, d + 1, dtype=float) ** -0.5
    return lam, ts / np.linalg.norm(ts)


def sign_ode(d, steps, dt, sigma):
    lam, ts = problem(d)
    lr = 1e-3
    ell = np.sqrt(lam)
    v = 0.5 * ell * ts**2          # v_j = <w_j, D^1/4 r>^2 / 2 with r = -theta*
    h = dt * d                     # Euler step in optimizer steps
    n = int(round(steps / h))
    ks, rs = np.empty(n + 1), np.empty(n + 1)
    for i in range(n + 1):
        r = ell @ v
        ks[i], rs[i] = i * h, r
        c = (2 / np.pi) / np.sqrt(2 * r + sigma**2)
        v = v + h * (-2 * lr * c * ell * v + 0.5 * lr**2 * ell)
    return np.stack([ks, rs])


def clip_ode(d, steps, dt, sigma, c):
    lam, ts = problem(d)
    lr = 0.05 / lam.sum()
    v = 0.5 * ts**2
    h = dt * d
    n = int(round(steps / h))
    ks, rs = np.empty(n + 1), np.empty(n + 1)
    for i in range(n + 1):
        r = lam @ v
        ks[i], rs[i] = i * h, r
        s2 = 2 * r + sigma**2
        z = c / np.sqrt(s2)
        mu = special.erf(z / np.sqrt(2))
        nubar = s2 * (mu - np.sqrt(2 / np.pi) * z * np.exp(-z * z / 2)) + c * c * special.erfc(
            z / np.sqrt(2))
        v = v + h * (-2 * lr * mu * lam * v + 0.5 * lr**2 * lam * nubar)
    return np.stack([ks, rs])


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    curve = (sign_ode if kind == "sign" else clip_ode)(**CASES[kind])
    np.save(out, curve)
    print(f"compute_s={time.perf_counter() - t0:.4f}")
