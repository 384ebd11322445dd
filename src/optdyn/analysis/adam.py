"""The conjectured Adam risk curve (not a theorem): a thin helper over ``theory.run``.

The law (c_A, s_A by Monte Carlo, the signSGD linearisation) is
:class:`optdyn.theory.laws.adam.AdamLaw`, written up in ``docs/theory/signsgd.md`` section 8;
this function only names it for a study and checks the optimizer.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from optdyn import theory
from optdyn._core.errors import ConfigError
from optdyn.optimizers import Adam
from optdyn.theory.laws.adam import adam_factors

__all__ = ["adam_factors", "run"]


def run(problem: Any, optimizer: Adam, steps: int, *, points_per_decade: int = 10,
        rtol: float = 1e-6, mc_chains: int = 2048, mc_points: int = 9) -> xr.Dataset:
    """``theory.run(problem, optimizer, steps, "conjecture")``: the conjectured Adam curve.

    ``mc_chains`` Monte Carlo chains at each of ``mc_points`` risks (log grid over 8 decades
    around the noise scale) estimate c_A and s_A when b1 or b2 > 0. Requires a constant learning
    rate and batch size 1 (the signSGD setting); ``attrs["method"] == "conjecture"``.
    """
    if not isinstance(optimizer, Adam):
        raise ConfigError("optimizer", f"expected an Adam, got {type(optimizer).__name__}")
    return theory.run(problem, optimizer, steps, "conjecture", points_per_decade=points_per_decade,
                      rtol=rtol, mc_chains=mc_chains, mc_points=mc_points)
