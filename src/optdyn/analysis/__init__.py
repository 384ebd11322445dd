"""Analyses built on the two engines: optimal learning rates, compute-optimal frontiers, fits."""

from optdyn.analysis.scaling import (
    PowerLawFit,
    compute_optimal,
    fit_power_law,
    frontier,
    optimal_lr_losses,
    scaling_laws,
    sign_lr_scale,
    steps_grid,
)

__all__ = [
    "PowerLawFit",
    "compute_optimal",
    "fit_power_law",
    "frontier",
    "optimal_lr_losses",
    "scaling_laws",
    "sign_lr_scale",
    "steps_grid",
]
