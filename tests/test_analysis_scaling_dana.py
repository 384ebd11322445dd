"""DANA-decaying outscales SGD on power-law random features (compute-optimal frontier slopes).

PLRF(alpha = 1, beta = 0.75): SGD's phase II (2 beta > 1, beta < alpha), where DANA with a
decaying momentum rate is claimed to improve the compute-optimal exponent (Ferbach, Everett,
Gidel, Paquette and Paquette, 2025). Both from the exact recursions, each rate tuned per step
count, the frontier over model sizes fitted with OLS standard errors
(docs/theory/momentum.md section 7)."""

import math

import pytest

from optdyn.analysis import scaling
from optdyn.errors import ConfigError


def _slopes(ds, t_max, n_lr):
    res = scaling.compute_optimal(1.0, 0.75, ds, optimizers=("sgd", "dana"),
                                  schedules=("constant",), t_max=t_max, n_lr=n_lr)
    s = res.slope.sel(schedule="constant")
    se = res.slope_se.sel(schedule="constant")
    return (float(s.sel(optimizer="sgd")), float(se.sel(optimizer="sgd")),
            float(s.sel(optimizer="dana")), float(se.sel(optimizer="dana")))


def test_dana_frontier_is_steeper_small():
    """d = 32..256, steps to 4096 (about 20 s): measured SGD -0.704 +- 0.018, DANA
    -0.793 +- 0.020, 3.3 combined standard errors apart."""
    sgd, sgd_se, dana, dana_se = _slopes([32, 64, 128, 256], 4096, 12)
    assert dana < sgd - 2.0 * math.hypot(sgd_se, dana_se), (sgd, sgd_se, dana, dana_se)


@pytest.mark.slow
def test_dana_frontier_is_steeper():
    """d = 64..1024, steps to 16384, 24 rates per search (minutes)."""
    sgd, sgd_se, dana, dana_se = _slopes([64, 128, 256, 512, 1024], 16384, 24)
    assert dana < sgd - 3.0 * math.hypot(sgd_se, dana_se), (sgd, sgd_se, dana, dana_se)


def test_dana_has_no_wsd_variant():
    with pytest.raises(ConfigError) as e:
        scaling.optimal_lr_losses(_plrf(), "dana",
                                  [16, 64], "wsd")
    assert e.value.field == "schedule"


def _plrf():
    from optdyn.problems.plrf import PowerLawRandomFeatures

    return PowerLawRandomFeatures(v=64, d=16, alpha=1.0, beta=0.75)
