import os

os.environ.setdefault("MPLBACKEND", "Agg")

import optdyn  # noqa: E402,F401  (enables float64 in JAX before tests build arrays)


def labelled_ticks(axis) -> int:
    """How many ticks (major and minor) in an axis's view carry a non-empty label."""
    lo, hi = sorted(axis.get_view_interval())
    n = 0
    for locs, fmt in ((axis.get_majorticklocs(), axis.get_major_formatter()),
                      (axis.get_minorticklocs(), axis.get_minor_formatter())):
        locs = [v for v in locs if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
        n += sum(bool(s.strip()) for s in fmt.format_ticks(locs))
    return n
