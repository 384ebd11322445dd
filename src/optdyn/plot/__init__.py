"""Figures in the field's conventions: log-log risk against t, mean and a 10-90% band."""

from optdyn.plot.curves import overlay, risk_curves, save_figure

__all__ = ["risk_curves", "overlay", "save_figure"]
