"""optdyn: exact high-dimensional dynamics of stochastic optimizers.

Importing optdyn enables JAX's float64 support (theory runs in float64); simulations choose their
dtype explicitly (float32 by default).
"""

import jax

jax.config.update("jax_enable_x64", True)

from optdyn._version import __version__  # noqa: E402

__all__ = ["__version__"]
