"""Polar factors, Newton-Schulz, SignSVD and Muon against independent computations.

References: NumPy's SVD (exact polar factor), optax.contrib.muon and torch.optim.Muon (parity of
whole trajectories from the same inputs), and the scalar polynomial map of Newton-Schulz.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optdyn.errors import ConfigError
from optdyn.optimizers import Muon, SignSVD
from optdyn.optimizers.polar import (
    KELLER_COEFFS,
    POLAR_EXPRESS_COEFFS,
    LowRank,
    newton_schulz,
    ns_singular_value_map,
    polar_lowrank,
    polar_svd,
)


def np_polar(g, rtol=None):
    """U V^T over the numerically nonzero singular values, with NumPy."""
    u, s, vt = np.linalg.svd(g, full_matrices=False)
    tol = (max(g.shape) * np.finfo(g.dtype).eps if rtol is None else rtol) * s[0]
    keep = s > tol
    return u[:, keep] @ vt[keep]


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# ------------------------------------------------------------------------------ polar factors
@pytest.mark.parametrize(("d", "m", "b", "rank"), [(30, 50, 4, None), (50, 30, 4, None),
                                                  (20, 30, 40, None), (40, 60, 8, 2)])
def test_qr_lowrank_path_equals_svd_path(d, m, b, rank):
    rng = np.random.default_rng(d + m + b)
    x = rng.standard_normal((b, d)) * np.linspace(1.0, 0.1, d)
    if rank is None:
        e = rng.standard_normal((b, m))
    else:  # noiseless residual of a rank-2 Delta: G has rank 2 < B
        e = x @ (rng.standard_normal((d, rank)) @ rng.standard_normal((rank, m)))
    g = x.T @ e / b
    p_svd = np.asarray(polar_svd(jnp.asarray(g)))
    p_qr = np.asarray(polar_lowrank(jnp.asarray(x), jnp.asarray(e)))
    assert np.abs(p_qr - p_svd).max() < 1e-10
    np.testing.assert_allclose(p_svd, np_polar(g), atol=1e-10)
    # a partial isometry of rank min(B, d, m, rank): ||P||_F^2 = rank(G), P P^T P = P
    r = min(b, d, m, rank or b)
    assert np.isclose(np.sum(p_qr**2), r, atol=1e-9)
    np.testing.assert_allclose(p_qr @ p_qr.T @ p_qr, p_qr, atol=1e-10)
    # and it is not the unthresholded U V^T, which would have rank min(d, m)
    u, _, vt = np.linalg.svd(g, full_matrices=False)
    if r < min(d, m):
        assert np.abs(u @ vt - p_svd).max() > 0.1


_VMAP_SCAN_SCRIPT = """
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
from optdyn.optimizers.polar import polar_lowrank
def step(carry, key):
    ka, kc = jax.random.split(key)
    a = jax.random.normal(ka, (9, 16, 256)); c = jax.random.normal(kc, (9, 16, 512))
    return carry + jax.vmap(polar_lowrank)(a, c).sum(), None
f = jax.jit(lambda keys: jax.lax.scan(step, 0.0, keys)[0])
print(float(f(jax.random.split(jax.random.PRNGKey(0), 20))))
"""


def test_lowrank_polar_in_vmapped_scan_does_not_deadlock():
    """Batched QR/SVD kernels started concurrently deadlocked XLA:CPU's pool on 2 cores (5 of 5
    runs of this script hung before polar_lowrank chained its LAPACK calls); it must finish."""
    import subprocess
    import sys

    try:
        out = subprocess.run([sys.executable, "-c", _VMAP_SCAN_SCRIPT], capture_output=True,
                             text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("vmapped polar_lowrank inside lax.scan hung (XLA:CPU pool deadlock)")
    assert out.returncode == 0, out.stderr[-2000:]
    assert np.isfinite(float(out.stdout.strip().splitlines()[-1]))


def test_polar_of_zero_is_zero_and_lowrank_dense():
    assert np.all(np.asarray(polar_svd(jnp.zeros((3, 5)))) == 0)
    rng = np.random.default_rng(1)
    a, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    lr_ = LowRank(jnp.asarray(a), jnp.asarray(c), jnp.asarray(0.5))
    np.testing.assert_allclose(lr_.dense(), 0.5 * np.asarray(lr_.a).T @ np.asarray(lr_.c))


def test_newton_schulz_scalar_map_matches_spec_2_8():
    """docs/theory/muon.md section 2.8 (float64): Keller's NS5 maps [1e-3, 1] into [0.47, 1.20],
    1e-4 to 0.048."""
    s = np.logspace(-3, 0, 4001)
    y = ns_singular_value_map(s, 5, "keller")
    assert abs(y.min() - 0.4705) < 1e-3 and abs(y.max() - 1.2024) < 1e-3
    assert abs(ns_singular_value_map(1e-4, 5, "keller") - 0.0485) < 1e-3
    # the matrix iteration applies exactly this map to the singular values (float64)
    rng = np.random.default_rng(2)
    u, _ = np.linalg.qr(rng.standard_normal((12, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((8, 6)))
    sv = np.array([1.0, 0.5, 0.2, 0.05, 1e-2, 1e-3])
    g = (u * sv) @ v.T
    for coeffs in ("keller", "polar_express"):
        out = np.asarray(newton_schulz(jnp.asarray(g), 5, coeffs, eps=0.0))
        want = (u * ns_singular_value_map(sv / np.linalg.norm(sv), 5, coeffs)) @ v.T
        np.testing.assert_allclose(out, want, atol=1e-10)


def test_newton_schulz_approaches_polar_factor():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((40, 64))  # full rank; sigma_min / ||G||_F about 0.02
    exact = np_polar(g)
    gap = {}
    for coeffs in ("keller", "polar_express"):
        for steps in (5, 12, 30):
            gap[coeffs, steps] = rel(newton_schulz(jnp.asarray(g), steps, coeffs), exact)
    # Polar Express converges (Amsel et al. Thm 4.3); Keller's quintic plateaus (no fixed point
    # at 1: p(1) = 0.70)
    assert gap["polar_express", 12] < 1e-8 and gap["polar_express", 30] < 1e-12
    assert gap["keller", 30] > 0.05 and gap["keller", 12] > 0.05
    assert gap["polar_express", 5] < gap["keller", 5]
    # fp32 and bf16 at 5 steps: rounding adds little on a full-rank matrix in fp32 ...
    g32 = jnp.asarray(g, jnp.float32)
    for coeffs in ("keller", "polar_express"):
        f32 = rel(newton_schulz(g32, 5, coeffs), exact)
        bf16 = rel(newton_schulz(g32, 5, coeffs, dtype="bfloat16"), exact)
        assert abs(f32 - gap[coeffs, 5]) < 1e-4
        assert bf16 < gap[coeffs, 5] + 0.05


def test_bf16_newton_schulz_fills_the_null_space_of_low_rank_gradients():
    """A rank-B mini-batch gradient: exact NS (float64) keeps rank B; bf16 rounding noise
    (about 4e-3 ||G||) is amplified by the slope at 0 (3.4445^5 ~ 490) into O(1) singular values
    on the null space. torch.optim.Muon and Keller Jordan's code iterate in bf16."""
    rng = np.random.default_rng(4)
    b, d, m = 4, 48, 64
    x, e = rng.standard_normal((b, d)), rng.standard_normal((b, m))
    g = x.T @ e / b
    exact = np_polar(g)
    f64 = np.asarray(newton_schulz(jnp.asarray(g), 5, "keller"))
    bf16 = np.asarray(newton_schulz(jnp.asarray(g, jnp.float32), 5, "keller", dtype="bfloat16"),
                      float)
    s64 = np.linalg.svd(f64, compute_uv=False)
    s16 = np.linalg.svd(bf16, compute_uv=False)
    assert s64[b] < 1e-10  # exact arithmetic: still rank B
    assert s16[b] > 0.1  # bf16: spurious singular values beyond rank B
    assert rel(f64, exact) < 0.3 < rel(bf16, exact)
    # the rounding survives jit (XLA's excess precision would otherwise keep float32 values)
    jitted = jax.jit(lambda v: newton_schulz(v, 5, "keller", dtype="bfloat16"))
    np.testing.assert_array_equal(np.asarray(jitted(jnp.asarray(g, jnp.float32)), float), bf16)
    # float16: finite, and its rounding (2^-11) does less damage than bf16's (2^-8)
    f16 = np.asarray(newton_schulz(jnp.asarray(g, jnp.float32), 5, "keller", dtype="float16"),
                     float)
    assert np.all(np.isfinite(f16)) and rel(f16, f64) < rel(bf16, f64)


# ------------------------------------------------------------------------------- optimizers
def test_signsvd_update_and_qr_path():
    rng = np.random.default_rng(5)
    x, e = rng.standard_normal((3, 10)), rng.standard_normal((3, 7))
    w = jnp.zeros((10, 7))
    svd, qr = SignSVD(0.1, batch_size=3), SignSVD(0.1, batch_size=3, method="qr")
    assert not svd.per_sample and qr.per_sample
    u1, s1 = svd.update(jnp.asarray(x.T @ e / 3), svd.init(w), w)
    u2, _ = qr.update(LowRank(jnp.asarray(x), jnp.asarray(e), jnp.asarray(1 / 3)), qr.init(w), w)
    np.testing.assert_allclose(u1, -0.1 * np_polar(x.T @ e), atol=1e-12)
    np.testing.assert_allclose(u2, u1, atol=1e-12)
    assert int(s1) == 1
    with pytest.raises(ConfigError):
        qr.update(jnp.asarray(x.T @ e), qr.init(w), w)
    # Muon with no momentum, an exact polar factor and no shape factor is SignSVD
    mu = Muon(0.1, beta=0.0, polar="svd", lr_shape_rule="none")
    u3, _ = mu.update(jnp.asarray(x.T @ e / 3), mu.init(w), w)
    np.testing.assert_allclose(u3, u1, atol=1e-12)


def _grad_fn(d, m, seed):
    """Gradients G_k(W) = A (W - W*) + N_k: a trajectory that depends on the iterates."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d)) / np.sqrt(d)
    a = a @ a.T + 0.1 * np.eye(d)
    w_star = rng.standard_normal((d, m))
    noise = rng.standard_normal((40, d, m)) * 0.3
    return lambda w, k: a @ (w - w_star) + noise[k]


def _run_ours(opt, w0, grad, steps):
    w, state = jnp.asarray(w0), opt.init(jnp.asarray(w0))
    upd = jax.jit(opt.update)
    out = []
    for k in range(steps):
        u, state = upd(jnp.asarray(grad(np.asarray(w), k)), state, w)
        w = w + u
        out.append(np.asarray(w))
    return np.asarray(out)


def _run_optax(tx, w0, grad, steps):
    w = jnp.asarray(w0)
    state = tx.init(w)
    upd = jax.jit(tx.update)
    out = []
    for k in range(steps):
        u, state = upd(jnp.asarray(grad(np.asarray(w), k)), state, w)
        w = optax.apply_updates(w, u)
        out.append(np.asarray(w))
    return np.asarray(out)


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((12, 20), dict(beta=0.95, nesterov=True)),
        ((20, 12), dict(beta=0.9, nesterov=False, weight_decay=0.1)),
        ((12, 20), dict(beta=0.5, nesterov=True, rms=0.2, coeffs="pe", steps=5)),
        ((16, 16), dict(beta=0.0, nesterov=True, steps=3)),
    ],
)
def test_parity_with_optax_contrib_muon(shape, kw):
    d, m = shape
    lr, steps = 0.03, 15
    coeffs = np.asarray(POLAR_EXPRESS_COEFFS[:5]) if kw.get("coeffs") == "pe" else KELLER_COEFFS
    ns_steps = kw.get("steps", 5)
    rms = kw.get("rms")
    tx = optax.contrib.muon(lr, ns_coeffs=tuple(map(tuple, np.atleast_2d(coeffs))) if
                            kw.get("coeffs") == "pe" else coeffs, ns_steps=ns_steps,
                            beta=kw["beta"], weight_decay=kw.get("weight_decay", 0.0),
                            nesterov=kw["nesterov"], consistent_rms=rms)
    ours = Muon(lr, beta=kw["beta"], weight_decay=kw.get("weight_decay", 0.0),
                nesterov=kw["nesterov"], convention="optax", ns_steps=ns_steps, ns_coeffs=coeffs,
                lr_shape_rule="original" if rms is None else "match_rms_adamw")
    grad = _grad_fn(d, m, d * m)
    w0 = np.random.default_rng(0).standard_normal((d, m)) * 0.1
    a = _run_ours(ours, w0, grad, steps)
    b = _run_optax(tx, w0, grad, steps)
    moved = np.abs(a[-1] - w0).max()
    assert moved > 0.1  # the trajectory really moved
    assert np.abs(a - b).max() < 1e-10 * max(1.0, moved)
    # in float32 the two agree to float32 rounding
    a32 = _run_ours(ours, w0.astype(np.float32), lambda w, k: grad(w, k).astype(np.float32), 5)
    b32 = _run_optax(tx, w0.astype(np.float32), lambda w, k: grad(w, k).astype(np.float32), 5)
    assert a32.dtype == np.float32
    assert np.abs(a32 - b32).max() < 1e-5


def test_bias_correction_distinguishes_optax_from_torch_convention():
    grad = _grad_fn(8, 10, 7)
    w0 = np.zeros((8, 10))
    kw = dict(beta=0.9, ns_dtype="float64", ns_steps=8, ns_coeffs="polar_express")
    a = _run_ours(Muon(0.02, convention="optax", **kw), w0, grad, 5)
    b = _run_ours(Muon(0.02, convention="torch", **kw), w0, grad, 5)
    c = _run_ours(Muon(0.02, convention="keller", **kw), w0, grad, 5)
    assert np.abs(a - b).max() > 1e-3  # optax's bias correction re-weights early gradients
    assert np.abs(b - c).max() < 1e-9  # torch and Keller Jordan differ only in the eps form


def _torch_run(w0, grad, steps, **kw):
    import torch

    p = torch.nn.Parameter(torch.tensor(w0.T.copy(), dtype=torch.float64))  # (out, in) layout
    opt = torch.optim.Muon([p], **kw)
    out = []
    for k in range(steps):
        w = p.detach().numpy().T
        p.grad = torch.tensor(grad(w, k).T.copy(), dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().T.copy())
    return np.asarray(out)


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((12, 20), dict(momentum=0.95, nesterov=True, weight_decay=0.1)),
        ((20, 12), dict(momentum=0.9, nesterov=False, weight_decay=0.0, adjust_lr_fn="original")),
        ((12, 20), dict(momentum=0.8, nesterov=True, weight_decay=0.05,
                        adjust_lr_fn="match_rms_adamw")),
    ],
)
def test_parity_with_torch_optim_muon(shape, kw, monkeypatch):
    torch = pytest.importorskip("torch")
    d, m = shape
    lr, steps = 0.02, 12
    grad = _grad_fn(d, m, 11 + d)
    w0 = np.random.default_rng(1).standard_normal((d, m)) * 0.1
    rule = kw.get("adjust_lr_fn") or "original"
    ours = Muon(lr, beta=kw["momentum"], weight_decay=kw["weight_decay"], nesterov=kw["nesterov"],
                convention="torch", lr_shape_rule=rule, ns_dtype="float64")
    a = _run_ours(ours, w0, grad, steps)
    # torch's Newton-Schulz always casts to bfloat16; with that cast made a no-op the whole
    # optimizer (momentum, eps clamp, shape rule, weight decay) runs in float64
    with monkeypatch.context() as mp:
        mp.setattr(torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone())
        b = _torch_run(w0, grad, steps, lr=lr, **kw)
    moved = np.abs(a[-1] - w0).max()
    assert moved > 0.05
    assert np.abs(a - b).max() < 1e-10
    # real torch (bf16 Newton-Schulz) against ours in bf16 (float32 accumulation, one rounding per
    # stored matrix, under jit): fed torch's own iterates, every step agrees within bf16 rounding
    ours16 = Muon(lr, beta=kw["momentum"], weight_decay=kw["weight_decay"],
                  nesterov=kw["nesterov"], convention="torch", lr_shape_rule=rule)
    b16 = _torch_run(w0, grad, steps, lr=lr, **kw)
    prev = np.concatenate([w0[None], b16[:-1]])
    state, upd = ours16.init(jnp.asarray(w0)), jax.jit(ours16.update)
    worst = 0.0
    for k in range(steps):
        u, state = upd(jnp.asarray(grad(prev[k], k)), state, jnp.asarray(prev[k]))
        worst = max(worst, rel(prev[k] + np.asarray(u) - prev[k], b16[k] - prev[k]))
    bf16_effect = np.abs(b16 - b).max()
    # (bit-identical on the CPU where this was written; 2e-3, half a bf16 ulp, leaves room for
    # another BLAS's summation order)
    assert worst < 2e-3 and bf16_effect > 1e-4


def _keller_ns_torch(g, steps, dtype):
    """Keller Jordan's NS5 formula written out in torch (bf16 rounds after every operation):
    X = G / (||G|| + 1e-7); A = X X^T; B = b A + (c A) A; X = a X + B X."""
    a, b, c = KELLER_COEFFS
    x = g.to(dtype)
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / (x.norm() + 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        poly = b * gram + c * gram @ gram
        x = a * x + poly @ x
    return x.T if tall else x


def _keller_torch_run(w0, grad, steps, lr, beta, wd, nesterov, dtype, feed=None):
    """Keller Jordan's ``muon_update`` and step, on the (out, in) = W^T layout: EMA momentum by
    lerp, Nesterov by lerp, NS5, update *= sqrt(max(1, rows/cols)) in the NS dtype, decoupled
    decay p *= 1 - lr wd, p -= lr update. ``feed`` replaces the iterate before each step."""
    import torch

    p = torch.tensor(w0.T.copy())
    buf = torch.zeros_like(p)
    out = []
    for k in range(steps):
        if feed is not None:
            p = torch.tensor(feed[k].T.copy())
        g = torch.tensor(grad(p.numpy().T, k).T.copy())
        buf.lerp_(g, 1 - beta)
        u = g.lerp_(buf, beta) if nesterov else buf.clone()
        o = _keller_ns_torch(u, 5, dtype)
        o *= max(1, o.size(-2) / o.size(-1)) ** 0.5
        p.mul_(1 - lr * wd)
        p.add_(o.to(p.dtype), alpha=-lr)
        out.append(p.numpy().T.copy())
    return np.asarray(out)


@pytest.mark.parametrize(("shape", "nesterov", "wd"), [((12, 20), True, 0.1),
                                                       ((20, 12), False, 0.0)])
def test_parity_with_keller_jordan_muon(shape, nesterov, wd):
    torch = pytest.importorskip("torch")
    d, m = shape
    lr, beta, steps = 0.02, 0.95, 10
    grad = _grad_fn(d, m, 5 + d)
    w0 = np.random.default_rng(2).standard_normal((d, m)) * 0.1
    kw = dict(beta=beta, weight_decay=wd, nesterov=nesterov, convention="keller")
    # float64 throughout: the same trajectory to rounding
    a = _run_ours(Muon(lr, ns_dtype="float64", **kw), w0, grad, steps)
    b = _keller_torch_run(w0, grad, steps, lr, beta, wd, nesterov, torch.float64)
    assert np.abs(a[-1] - w0).max() > 0.05
    assert np.abs(a - b).max() < 1e-10
    # bf16 (rounding after every operation, as the reference code does), fed the same iterates
    b16 = _keller_torch_run(w0, grad, steps, lr, beta, wd, nesterov, torch.bfloat16)
    prev = np.concatenate([w0[None], b16[:-1]])
    ref = _keller_torch_run(w0, grad, steps, lr, beta, wd, nesterov, torch.bfloat16, feed=prev)
    ours16 = Muon(lr, **kw)
    state, upd = ours16.init(jnp.asarray(w0)), jax.jit(ours16.update)
    worst = 0.0
    for k in range(steps):
        u, state = upd(jnp.asarray(grad(prev[k], k)), state, jnp.asarray(prev[k]))
        worst = max(worst, rel(np.asarray(u), ref[k] - prev[k]))
    assert worst < 2e-3 and np.abs(b16 - b).max() > 1e-4


def test_muon_stacks_and_vmaps_over_hyperparameters():
    opts = [Muon(0.1, beta=0.9), Muon(0.2, beta=0.5, weight_decay=0.1)]
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack([jnp.asarray(v) for v in x]), *opts)
    rng = np.random.default_rng(6)
    g = jnp.asarray(rng.standard_normal((6, 9)))
    w = jnp.asarray(rng.standard_normal((6, 9)))

    def two(o):
        u, s = o.update(g, o.init(w), w)
        return o.update(2 * g, s, w + u)[0]

    got = jax.vmap(two)(stacked)
    for i, o in enumerate(opts):
        np.testing.assert_allclose(got[i], two(o), atol=1e-12)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Muon(0.1, beta=1.0), "beta"),
        (lambda: Muon(-0.1), "lr"),
        (lambda: Muon(0.1, convention="jax"), "convention"),
        (lambda: Muon(0.1, ns_coeffs="you"), "ns_coeffs"),
        (lambda: Muon(0.1, ns_coeffs=[[1.0, 2.0]]), "ns_coeffs"),
        (lambda: Muon(0.1, ns_dtype="int8"), "ns_dtype"),
        (lambda: Muon(0.1, ns_steps=-1), "ns_steps"),
        (lambda: Muon(0.1, lr_shape_rule="kimi"), "lr_shape_rule"),
        (lambda: Muon(0.1, polar="qr"), "polar"),
        (lambda: Muon(0.1, weight_decay=-1.0), "weight_decay"),
        (lambda: SignSVD(0.1, method="lanczos"), "method"),
        (lambda: SignSVD(0.1, batch_size=0), "batch_size"),
    ],
)
def test_bad_hyperparameters_name_field(make, field):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.field == field


def test_muon_rejects_vector_params_and_labels():
    o = Muon(0.1)
    with pytest.raises(ConfigError):
        o.update(jnp.ones(3), o.init(jnp.ones(3)), jnp.ones(3))
    assert Muon(0.02, convention="optax").label() == \
        "Muon(lr=0.02, beta=0.95, convention=optax, ns_steps=5)"
    assert Muon(0.02, batch_size=16).label() == \
        "Muon(lr=0.02, beta=0.95, batch_size=16, convention=torch, ns_steps=5)"
    cfg = Muon(0.02, ns_coeffs=np.asarray(KELLER_COEFFS)).to_config()
    assert cfg["ns_coeffs"] == (KELLER_COEFFS,)
