"""The simulation engine: optimizers run on problems, batched over seeds and configs."""

from optdyn.simulate.engine import RISK_CONVENTION, run
from optdyn.simulate.grid import checkpoint_steps

__all__ = ["run", "checkpoint_steps", "RISK_CONVENTION"]
