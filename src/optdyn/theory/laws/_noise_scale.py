"""A reference scale of a noise law, used to centre the tables of scalar laws."""

from __future__ import annotations

import math
from typing import Any


def noise_scale2(noise: Any) -> float:
    """E[eps^2] when finite and > 0; else 1 / (2 pi p(0)^2) (the Gaussian with the same density
    at 0) when that is finite and > 0; else 1."""
    m2 = float(noise.second_moment)
    if math.isfinite(m2) and m2 > 0:
        return m2
    try:
        p0 = float(noise.density_at_zero())
    except (TypeError, ValueError):
        p0 = math.nan
    if math.isfinite(p0) and p0 > 0:
        return 1.0 / (2.0 * math.pi * p0 * p0)
    return 1.0
