"""Full-batch runs share the streaming engine's result builder: coordinates, divergence, attrs."""

import json

import numpy as np

from optdyn import simulate
from optdyn.optimizers import SGD, SignSVD
from optdyn.problems.memory import AssociativeMemory


def test_full_batch_coordinates_and_divergence_match_the_engine_convention():
    pb = AssociativeMemory(64, 4, 2.0, 0.0)
    # lr = 1e300 overflows float32: the iterate becomes non-finite, the run diverged
    exact = simulate.run_full_batch(pb, [SignSVD(1.0), SGD(1e300)], 30, dtype="float32")
    assert "t" not in exact.coords and "samples" not in exact.coords  # no samples drawn
    assert exact.attrs["kind"] == "simulation"
    assert json.loads(exact.attrs["config"])["steps"] == 30
    assert list(exact["diverged"].values[:, 0]) == [False, True]
    blown = exact.isel(config=1, seed=0)
    k = int(blown["diverged_step"])
    assert k >= 0 and np.all(np.isinf(blown["risk"].sel(step=slice(k, None))))
    assert int(exact["diverged_step"].isel(config=0, seed=0)) == -1
    mini = simulate.run_full_batch(pb, SGD(20.0), 40, batch_size=8, seeds=2)
    np.testing.assert_array_equal(mini["samples"].values, 8 * mini["step"].values)
    np.testing.assert_allclose(mini["t"].values, mini["samples"].values / pb.d)
    assert int(mini["batch_size"]) == 8
