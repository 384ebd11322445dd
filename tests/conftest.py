import os

os.environ.setdefault("MPLBACKEND", "Agg")

import optdyn  # noqa: E402,F401  (enables float64 in JAX before tests build arrays)
