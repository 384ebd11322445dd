"""The engine's eigenbasis path (rotation-equivariant optimizers on a rotated covariance) against
the rotated path and the theory, and the scan body's bookkeeping (plain vs recording blocks)."""

import numpy as np
import optax
import pytest

from optdyn import noise, simulate, theory
from optdyn.errors import ConfigError
from optdyn.optimizers import (
    DANA,
    SGD,
    Adam,
    ClippedSGD,
    NormalizedSGD,
    SignSGD,
)
from optdyn.optimizers.muon import Muon, SignSVD
from optdyn.optimizers.optax_adapter import OptaxOptimizer
from optdyn.problems import LinearRegression, MatrixRegression, RandomVector, spectra
from optdyn.simulate import engine

D = 50


@pytest.fixture(scope="module")
def rotated():
    return LinearRegression(eigenvalues=spectra.power_law(D, 1.0), basis="haar", basis_seed=4,
                            theta_star=RandomVector(4.0), noise=noise.Gaussian(0.1), seed=3)


def _lr(p, f=0.5):
    return f / p.trace


def _opts(p):
    # one stacked SGD group: a diverging rate, and momentum in one config (so all keep the
    # momentum buffer)
    return [SGD(_lr(p)), SGD(_lr(p, 8.0)), SGD(_lr(p, 0.2), momentum=0.5, nesterov=True)]


@pytest.fixture(scope="module")
def both_paths(rotated):
    kw = dict(seeds=3, dtype="float64", return_params=True, progress=False)
    return (simulate.run(rotated, _opts(rotated), 1000, **kw),
            simulate.run(rotated, _opts(rotated), 1000, eigenbasis=False, **kw))


N_MC = 400


@pytest.fixture(scope="module")
def independent_seeds(rotated):
    # SGD on both paths with disjoint seeds (float64, so the theory check sees no rounding)
    kw = dict(dtype="float64", points_per_decade=3, progress=False)
    opt = SGD(_lr(rotated))
    return (simulate.run(rotated, opt, 500, seeds=np.arange(N_MC), **kw),
            simulate.run(rotated, opt, 500, seeds=np.arange(N_MC, 2 * N_MC), eigenbasis=False,
                         **kw))


def test_rotation_equivariance_flags():
    for o in (SGD(0.1), SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9, nesterov=True),
              SGD(0.1, momentum=0.5, convention="ema"), DANA.constant(0.1, 1.0, D),
              ClippedSGD(0.1, 1.0), ClippedSGD(0.1, 1.0, mode="per_batch", batch_size=4),
              NormalizedSGD(0.1)):
        assert o.rotation_equivariant, o
    for o in (SignSGD(0.1), Adam(0.1), OptaxOptimizer(optax.sgd(0.1)), SignSVD(0.1),
              Muon(0.1)):
        assert not o.rotation_equivariant, o


def test_clipping_commutes_with_a_rotation_in_both_modes():
    # the flag's claim for ClippedSGD, checked on the update itself: clip(U g) = U clip(g)
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    g = rng.standard_normal((3, 8))
    for mode, grads in (("per_sample", g), ("per_batch", g.mean(0))):
        opt = ClippedSGD(0.3, threshold=0.5, mode=mode, batch_size=3)
        upd, _ = opt.update(grads, opt.init(np.zeros(8)), np.zeros(8))
        upd_rot, _ = opt.update(grads @ u.T, opt.init(np.zeros(8)), np.zeros(8))
        np.testing.assert_allclose(np.asarray(upd_rot), np.asarray(upd) @ u.T, atol=1e-12)


def test_pathwise_equal_to_rotated_path_in_float64(rotated, both_paths):
    # same z and noise: the two paths are the same process sample for sample, up to rounding
    eig, rot = both_paths
    assert eig.attrs["eigenbasis"] == 1 and rot.attrs["eigenbasis"] == 0
    ok = ~eig.diverged.values
    assert ok.sum() == 6
    a, b = eig.risk.values[ok], rot.risk.values[ok]
    assert not np.array_equal(a, b)  # different rounding: really two paths
    np.testing.assert_allclose(a, b, rtol=1e-8)
    # theta_final is in the original coordinates
    np.testing.assert_allclose(eig.theta_final.values[ok], rot.theta_final.values[ok],
                               atol=1e-10)
    np.testing.assert_allclose(rotated.risk(eig.theta_final.values[ok]),
                               eig.risk.isel(step=-1).values[ok], rtol=1e-9)


def test_same_distribution_as_rotated_path(independent_seeds):
    # independent seeds for the two paths: mean risks agree within Monte Carlo error
    eig, rot = independent_seeds
    assert eig.attrs["eigenbasis"] == 1 and rot.attrs["eigenbasis"] == 0
    a, b = eig.risk.values, rot.risk.values
    z = (a.mean(0) - b.mean(0)) / np.sqrt(a.var(0, ddof=1) / N_MC + b.var(0, ddof=1) / N_MC)
    assert np.all(np.abs(z[1:]) < 4.5), z
    assert a.mean(0)[-1] < 0.2 * a.mean(0)[0]  # the risk moved: the check is not at R0


def test_eigenbasis_sgd_matches_theory(rotated, independent_seeds):
    sim = independent_seeds[0]
    th = theory.run(rotated, SGD(_lr(rotated)), int(sim.step.values[-1]), method="exact",
                    points_per_decade=3)
    r = sim.risk.values
    se = r.std(0, ddof=1) / np.sqrt(r.shape[0])
    exact = th.risk.sel(step=sim.step.values).values
    z = (r.mean(0) - exact) / np.where(se > 0, se, 1)
    assert np.all(np.abs(z[1:]) < 4.5), z
    assert exact[-1] < 0.2 * exact[0]
    # a wrong process would be seen: the curve of half the rate is far off
    wrong = theory.run(rotated, SGD(_lr(rotated, 0.25)), int(sim.step.values[-1]),
                       method="exact", points_per_decade=3).risk.sel(step=sim.step.values).values
    assert np.max(np.abs((r.mean(0) - wrong) / np.where(se > 0, se, 1))) > 10


def test_non_equivariant_optimizers_keep_the_rotated_path(rotated):
    kw = dict(seeds=2, progress=False, points_per_decade=3)
    auto = simulate.run(rotated, SignSGD(1e-3), 200, **kw)
    forced = simulate.run(rotated, SignSGD(1e-3), 200, eigenbasis=False, **kw)
    assert auto.attrs["eigenbasis"] == 0
    np.testing.assert_array_equal(auto.risk.values, forced.risk.values)
    for opt in (SignSGD(1e-3), Adam(1e-3), optax.sgd(1e-3), [SGD(0.01), Adam(1e-3)]):
        with pytest.raises(ConfigError, match="rotation-equivariant"):
            simulate.run(rotated, opt, 10, eigenbasis=True, **kw)
    mixed = simulate.run(rotated, [SGD(_lr(rotated)), SignSGD(1e-3)], 200, **kw)
    assert mixed.attrs["eigenbasis"] == [1, 0]
    np.testing.assert_array_equal(mixed.risk.values[1], auto.risk.values)


def test_only_exact_cases_take_the_eigenbasis_path(rotated):
    assert engine._eigenbasis_problem(rotated) is not None
    diag = LinearRegression(eigenvalues=rotated.eigenvalues, theta_star=rotated.theta_star)
    assert engine._eigenbasis_problem(diag) is None
    mat = MatrixRegression.power_law(16, 3, 1.0, 1.0)
    assert engine._eigenbasis_problem(mat) is None
    ds = simulate.run(mat, SGD(0.05), 50, seeds=2, progress=False)
    assert ds.attrs["eigenbasis"] == 0
    with pytest.raises(ConfigError, match="rotated covariance"):
        simulate.run(diag, SGD(0.01), 10, seeds=1, eigenbasis=True, progress=False)
    with pytest.raises(ConfigError, match="eigenbasis"):
        simulate.run(rotated, SGD(0.01), 10, seeds=1, eigenbasis="yes", progress=False)


def test_eigenbasis_problem_is_the_rotated_one_in_its_basis(rotated):
    e = engine._eigenbasis_problem(rotated)
    u = rotated.basis
    assert e.basis is None and e.noise == rotated.noise
    np.testing.assert_array_equal(e.eigenvalues, rotated.eigenvalues)
    np.testing.assert_allclose(e.theta_star, u.T @ rotated.theta_star, atol=1e-15)
    theta = np.random.default_rng(1).standard_normal((4, D))
    np.testing.assert_allclose(e.risk(theta @ u), rotated.risk(theta), rtol=1e-12)


def test_divergence_is_flagged_on_the_eigenbasis_path(both_paths):
    eig, rot = both_paths
    dv = eig.diverged.values
    assert dv[1].all() and not dv[[0, 2]].any()
    np.testing.assert_array_equal(dv, rot.diverged.values)
    np.testing.assert_array_equal(eig.diverged_step.values, rot.diverged_step.values)
    r = eig.risk.values[1]
    for s in range(3):
        after = eig.step.values >= eig.diverged_step.values[1, s]
        assert np.isinf(r[s, after]).all() and np.isfinite(r[s, ~after]).all()
    assert np.isfinite(eig.theta_final.values).all()  # frozen at the last finite block


def test_plain_and_recording_blocks_give_the_same_numbers(rotated):
    # samples do not depend on blocking; neither does which scan body ran a step
    opt = SGD(_lr(rotated), momentum=0.3, batch_size=2)
    kw = dict(seeds=2, dtype="float32", return_params=True, progress=False)
    runs = [simulate.run(rotated, opt, 600, block_size=b, **kw) for b in (7, 600)]
    for ds in runs[1:]:
        np.testing.assert_array_equal(ds.risk.values, runs[0].risk.values)
        np.testing.assert_array_equal(ds.theta_final.values, runs[0].theta_final.values)


def test_sgd_without_momentum_buffer_is_bitwise_the_buffered_update(rotated, both_paths):
    # all momentum 0: the group runs without the buffer (engine_variant); in ``both_paths`` one
    # config has momentum, so the group keeps it. Same stack width: the same bits.
    opts = _opts(rotated)
    assert engine._engine_forms(opts[:2])[0] is not opts[0]
    assert engine._engine_forms(opts[:3])[0] is opts[0]
    plain = [opts[0], opts[1], SGD(_lr(rotated, 0.2), convention="ema")]
    ds = simulate.run(rotated, plain, 1000, seeds=3, dtype="float64", return_params=True,
                      progress=False, eigenbasis=False)
    _, rot = both_paths
    for name in ("risk", "theta_final", "diverged_step"):
        np.testing.assert_array_equal(ds[name].values[:2], rot[name].values[:2])
