"""Each update rule against a hand computation with NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optdyn import schedules
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, Adam, ClippedSGD, NormalizedSGD, SignSGD

G = np.array([0.3, -2.0, 0.0, 1.0], dtype=np.float32)
P = np.zeros(4, np.float32)


def step(opt, g, n=1):
    state = opt.init(jnp.asarray(P))
    ups = []
    for _ in range(n):
        u, state = opt.update(jnp.asarray(g), state, jnp.asarray(P))
        ups.append(np.asarray(u))
    return ups


def test_sgd_and_momentum():
    assert np.allclose(step(SGD(0.1), G)[0], -0.1 * G)
    ups = step(SGD(0.1, momentum=0.9), G, n=3)
    np.testing.assert_allclose(ups[2], -0.1 * (1 + 0.9 + 0.81) * G, rtol=1e-6)
    assert step(SGD(0.1), G)[0].dtype == np.float32


def test_sign_and_normalized():
    np.testing.assert_allclose(step(SignSGD(0.01), G)[0], -0.01 * np.sign(G))
    np.testing.assert_allclose(step(NormalizedSGD(0.5), G)[0], -0.5 * G / np.linalg.norm(G),
                               rtol=1e-6)
    assert np.all(step(NormalizedSGD(0.5), np.zeros(4, np.float32))[0] == 0)


def test_adam_first_steps_and_sign_limit():
    ups = step(Adam(0.1, b1=0.9, b2=0.99, eps=0.0), G, n=2)
    # with a constant gradient the bias-corrected Adam step is lr * sign(g) (0 where g = 0)
    np.testing.assert_allclose(ups[1], -0.1 * np.sign(G), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(step(Adam(0.1, b1=0.0, b2=0.0, eps=0.0), G)[0], -0.1 * np.sign(G))


def test_clipping_per_sample_vs_per_batch():
    per = np.array([[3.0, 4.0], [0.3, 0.4]], np.float32)  # norms 5 and 0.5
    c = 1.0
    want_ps = -0.1 * np.mean([per[0] / 5.0, per[1]], axis=0)
    opt = ClippedSGD(0.1, c, batch_size=2)
    assert opt.per_sample
    u, _ = opt.update(jnp.asarray(per), opt.init(jnp.zeros(2)), jnp.zeros(2))
    np.testing.assert_allclose(u, want_ps, rtol=1e-6)
    mean = per.mean(0)
    ob = ClippedSGD(0.1, c, batch_size=2, mode="per_batch")
    assert not ob.per_sample
    u, _ = ob.update(jnp.asarray(mean), ob.init(jnp.zeros(2)), jnp.zeros(2))
    np.testing.assert_allclose(u, -0.1 * mean * min(1, c / np.linalg.norm(mean)), rtol=1e-6)


def test_schedules_drive_updates():
    opt = SGD(schedules.PiecewiseArray([1.0, 0.5, 0.25]))
    ups = step(opt, G, n=4)
    np.testing.assert_allclose([u[0] / -G[0] for u in ups], [1.0, 0.5, 0.25, 0.25], rtol=1e-6)
    opt = SGD(lambda k: 0.1 / (1.0 + k))
    ups = step(opt, G, n=2)
    np.testing.assert_allclose(ups[1], -0.05 * G, rtol=1e-6)


def test_optimizers_stack_and_vmap_over_hyperparameters():
    opts = [SGD(0.1, momentum=0.0), SGD(0.2, momentum=0.5)]
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack([jnp.asarray(v) for v in x]), *opts)
    g = jnp.asarray(G)
    ups, _ = jax.vmap(lambda o: o.update(g, o.init(g), g))(stacked)
    np.testing.assert_allclose(ups[0], -0.1 * G, rtol=1e-6)
    np.testing.assert_allclose(ups[1], -0.2 * G, rtol=1e-6)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: SGD(-0.1), "lr"),
        (lambda: SGD(float("nan")), "lr"),
        (lambda: SGD("fast"), "lr"),
        (lambda: SGD(0.1, momentum=1.0), "momentum"),
        (lambda: SGD(0.1, batch_size=0), "batch_size"),
        (lambda: SignSGD(float("inf")), "lr"),
        (lambda: ClippedSGD(0.1, -1.0), "threshold"),
        (lambda: ClippedSGD(0.1, 1.0, mode="global"), "mode"),
        (lambda: Adam(0.1, b2=1.5), "b2"),
        (lambda: SGD([0.1, -0.2]), "lr"),
    ],
)
def test_bad_hyperparameters_name_field(make, field):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.field == field


def test_labels_and_configs():
    assert SGD(0.1).label() == "SGD(lr=0.1)"
    cfg = ClippedSGD(schedules.Cosine(0.1, 100), 2.0).to_config()
    assert cfg["lr"]["schedule"] == "cosine" and cfg["threshold"] == 2.0
