"""One spelling rule for optimizer names (optdyn.optimizers.names)."""

from __future__ import annotations

import pytest

from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, Adam, Muon, SignSGD, SignSVD, resolve
from optdyn.optimizers.names import CLASSES, canonical


@pytest.mark.parametrize("spec", ["SignSGD", "signsgd", "sign_sgd", "sign-sgd", "SIGN_SGD",
                                  SignSGD, SignSGD(0.1)])
def test_every_spelling_names_one_class(spec):
    assert resolve(spec) is SignSGD


def test_every_optimizer_is_registered_under_its_own_name():
    assert {"SGD", "SignSGD", "ClippedSGD", "Adam", "NormalizedSGD", "SignSVD", "Muon",
            "AlignedSignSGD"} <= set(CLASSES)
    assert all(cls.name == key for key, cls in CLASSES.items())
    assert len({canonical(k) for k in CLASSES}) == len(CLASSES)  # no two collide


def test_unknown_names_point_to_the_closest_one():
    with pytest.raises(ConfigError, match="did you mean 'signsgd'") as e:
        resolve("sgnsgd", "optimizer[2].kind")
    assert e.value.field == "optimizer[2].kind"
    assert "SignSVD" in str(e.value)


def test_a_study_may_restrict_the_classes():
    assert resolve("muon", among=(Muon, SignSVD)) is Muon
    with pytest.raises(ConfigError, match="Adam is not supported here") as e:
        resolve(Adam(1e-3), "method", among=(SGD, SignSGD))
    assert e.value.field == "method" and "['SGD', 'SignSGD']" in str(e.value)


def test_a_table_of_names_resolves_to_its_own_key():
    from optdyn.optimizers import resolve_key

    table = {"sign_sgd": SignSGD, "sgd": SGD}
    assert resolve_key("SignSGD", table) == "sign_sgd"
    assert resolve_key(SGD(0.1), table) == "sgd"
    with pytest.raises(ConfigError) as e:
        resolve_key("muon", table, "optimizer[1].kind")
    assert e.value.field == "optimizer[1].kind"
