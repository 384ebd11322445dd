"""The simulation engine: optimizers run on problems, batched over seeds and configs."""

from optdyn._core.grid import checkpoint_steps
from optdyn.simulate.engine import RISK_CONVENTION, run

__all__ = ["run", "checkpoint_steps", "RISK_CONVENTION"]
