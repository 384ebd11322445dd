"""Studies built on the two engines, and the shared tools they use.

Shared tools: :mod:`.compare` (the error metric between a simulation and a theory), :mod:`.tuning`
(the learning-rate search), :mod:`.fits` (power-law fits with standard errors). Studies:
:mod:`.clipping` (clipping criteria and threshold schedules), :mod:`.signsgd` (signSGD's effects),
:mod:`.phases` (SignSGD/SignSVD phase map), :mod:`.memory` (associative-memory rates),
:mod:`.scaling` (PLRF compute-optimal frontiers).
"""

from optdyn.analysis.compare import diverged_fraction, mean_relative_error, relative_error
from optdyn.analysis.fits import PowerLawFit, fit_power_law
from optdyn.analysis.scaling import (
    compute_optimal,
    frontier,
    optimal_lr_losses,
    scaling_laws,
    sign_lr_scale,
    steps_grid,
)

__all__ = [
    "diverged_fraction",
    "mean_relative_error",
    "relative_error",
    "PowerLawFit",
    "compute_optimal",
    "fit_power_law",
    "frontier",
    "optimal_lr_losses",
    "scaling_laws",
    "sign_lr_scale",
    "steps_grid",
]
