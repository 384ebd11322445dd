"""The simulation engine: optimizers run on problems, batched over seeds and configs.

``run`` streams fresh samples every step (one-pass SGD-type runs); ``run_full_batch`` steps with
the exact full-batch gradient of a problem that has one (or mini-batches drawn from it). Both
share one result builder (:mod:`.result`): the same coordinates, divergence rule and attributes.
"""

from optdyn._core.grid import checkpoint_steps
from optdyn.simulate.engine import RISK_CONVENTION, run
from optdyn.simulate.full_batch import run as run_full_batch

__all__ = ["run", "run_full_batch", "checkpoint_steps", "RISK_CONVENTION"]
