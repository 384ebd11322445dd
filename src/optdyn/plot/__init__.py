"""Figures in the field's conventions: log-log risk against t, simulation mean and a 10-90% band,
theory dashed in the colour of its config; the shared style lives in :mod:`optdyn.plot.style`."""

from optdyn.plot import style
from optdyn.plot.curves import overlay, risk_curves, save_figure

__all__ = ["risk_curves", "overlay", "save_figure", "style"]
