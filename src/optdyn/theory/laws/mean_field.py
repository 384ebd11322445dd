"""The mean-field recursions of matrix optimizers as a law of the driver (``method="mean-field"``).

The recursions themselves (SignSGD's deterministic recursion, with the exact sign law of a batch or
the erf approximation, and the Monte Carlo recursion through any memoryless optimizer's own
update, arXiv 2605.09552; derivation in ``docs/theory/muon.md``) live in
:mod:`optdyn.theory.mean_field`; this law names what they cover (SGD with momentum 0, SignSGD,
SignSVD, Muon with its momentum buffer on MatrixRegression), their options (``drift`` in auto /
exact / erf / mc, ``n_mc`` draws per step, ``seed``) and their regimes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn.optimizers import SGD, Muon, SignSGD, SignSVD
from optdyn.theory import mean_field
from optdyn.theory.laws.base import Law

__all__ = ["MeanFieldLaw"]


class MeanFieldLaw(Law):
    """Mean-field recursions of matrix optimizers (see the module docstring)."""

    name = "mean_field"
    optimizer_type = SignSGD
    also_covers = (SGD, SignSVD, Muon)
    problem_kinds = ("matrix",)
    methods = ("mean-field",)
    options = {"drift": "auto", "n_mc": 16, "seed": 0}

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        if problem.normalize_by_m:
            raise ConfigError("normalize_by_m", "the mean-field recursion is written for the "
                              "unnormalised loss (use normalize_by_m=False)")

    @classmethod
    def regime_for(cls, opt: Any, options: dict[str, Any]) -> dict[str, str]:
        kind = mean_field.kind_of(opt, options.get("drift", "auto"))
        if kind not in ("exact", "erf", "mc"):
            return {}
        return {kind: mean_field.regime(kind)}

    @classmethod
    def solve(cls, method: str, problem: Any, opts: list[Any], ckpts: np.ndarray,
              options: dict[str, Any], progress: bool | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        risk, rho, _ = mean_field.solve(problem, opts, ckpts, **options, progress=progress)
        n = len(opts)
        return risk, np.zeros(n, int), np.full(n, int(ckpts[-1])), {"rho": (("step", "mode"),
                                                                             rho)}
