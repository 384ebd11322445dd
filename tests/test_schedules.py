import numpy as np
import pytest

from optdyn import schedules as S
from optdyn.errors import ConfigError


def test_values():
    cos = S.Cosine(1.0, 100, final=0.1)
    assert np.isclose(cos(0), 1.0) and np.isclose(cos(100), 0.1) and np.isclose(cos(50), 0.55)
    lin = S.LinearDecay(2.0, 10)
    assert np.isclose(lin(5), 1.0) and np.isclose(lin(20), 0.0)
    wsd = S.WarmupStableDecay(1.0, total_steps=100, warmup_steps=10, decay_steps=20)
    assert np.isclose(wsd(0), 0.1) and np.isclose(wsd(9), 1.0) and np.isclose(wsd(50), 1.0)
    assert np.isclose(wsd(90), 0.5) and np.isclose(wsd(100), 0.0)
    pw = S.PowerDecay(1.0, power=0.5, k0=4.0)
    assert np.isclose(pw(12), 0.5)
    arr = S.PiecewiseArray([3.0, 2.0])
    assert float(arr(0)) == 3.0 and float(arr(7)) == 2.0


def test_as_schedule_and_config_round_trip():
    assert isinstance(S.as_schedule(0.1), S.Constant)
    assert isinstance(S.as_schedule([0.1, 0.2]), S.PiecewiseArray)
    assert isinstance(S.as_schedule(lambda k: 0.1), S.FromCallable)
    cfg = S.Cosine(0.3, 50).to_config()
    back = S.schedule_from_config(cfg)
    assert back == S.Cosine(0.3, 50)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "x", None, [[0.1]]])
def test_bad_values(bad):
    with pytest.raises(ConfigError) as e:
        S.as_schedule(bad, "lr")
    assert e.value.field.startswith("lr")


def test_unknown_schedule_and_key():
    with pytest.raises(ConfigError) as e:
        S.schedule_from_config({"schedule": "cosin", "peak": 1.0})
    assert e.value.field == "lr.schedule"
    with pytest.raises(ConfigError) as e:
        S.schedule_from_config({"schedule": "cosine", "peak": 1.0, "total": 3})
    assert e.value.field == "lr.total"
