"""The bottom layer: errors, pytree helpers, the checkpoint grid, the result builder, io, registry.

Nothing here imports another optdyn package; every other layer may import from here.
"""
