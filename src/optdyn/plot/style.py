"""The figure style every optdyn plot shares: a colour-blind-safe palette, mathtext labels and
log axes that always show at least two labelled ticks."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from matplotlib import ticker

__all__ = ["PALETTE", "KEY_COLOR", "color", "marker", "series", "label", "time_label",
           "log_axes", "legend"]

# Okabe & Ito's qualitative palette (Color Universal Design), ordered so that neighbours differ
# under deuteranopia and protanopia too; the yellow (#F0E442) is left out: too pale on white.
PALETTE = ("#0072B2",  # blue
           "#E69F00",  # orange
           "#009E73",  # bluish green
           "#D55E00",  # vermillion
           "#56B4E9",  # sky blue
           "#CC79A7",  # reddish purple
           "#000000")  # black
KEY_COLOR = "0.45"  # the grey of style keys (what solid / dashed mean)
_MARKERS = (None, "o", "s", "^", "D")  # the second, third, ... pass through the palette

LABELS = {
    "t": r"$t = \mathrm{samples}/d$",
    "step": "step",
    "samples": "samples",
    "risk": r"excess risk $R$",
    "loss": "population loss",
}


def color(i: int) -> str:
    """The ``i``-th colour of :data:`PALETTE`, cycling past its end."""
    return PALETTE[i % len(PALETTE)]


def marker(i: int) -> str | None:
    """The marker of the ``i``-th series: none on the first pass through the palette, then
    o, s, ^, D, so that series ``i`` and ``i + len(PALETTE)`` differ."""
    return _MARKERS[(i // len(PALETTE)) % len(_MARKERS)]


def series(i: int) -> dict[str, Any]:
    """Keyword arguments of ``ax.plot`` for the ``i``-th series (colour and, past the palette,
    markers every tenth of the line)."""
    m = marker(i)
    return {"color": color(i)} | ({"marker": m, "markevery": 0.1, "ms": 4} if m else {})


def label(name: str) -> str:
    """Axis label (mathtext) of a coordinate or variable name; unknown names come back as given."""
    return LABELS.get(name, name)


def time_label(per: str = "d") -> str:
    r"""The label of t = samples / ``per`` (mathtext, e.g. ``per=r"\mathrm{Tr}\,K"``)."""
    return rf"$t = \mathrm{{samples}}/{per}$"


def legend(ax: Any, *args: Any, **kwargs: Any) -> Any:
    """``ax.legend`` with the shared look (small, no frame); arguments as ``ax.legend``."""
    return ax.legend(*args, **({"frameon": False, "fontsize": 7} | kwargs))


class _MinorLogLabels(ticker.Formatter):
    """Labels minor log ticks while fewer than two major ticks are in view (axes spanning about
    a decade or less), so that every log axis reads at least two values; blank otherwise."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        lo, hi = sorted(self.axis.get_view_interval())
        if not (x > 0 and lo > 0 and hi > lo):
            return ""
        tol = 1e-9 * (hi - lo)
        majors = [v for v in self.axis.get_majorticklocs() if lo - tol <= v <= hi + tol]
        if len(majors) >= 2:
            return ""
        span = math.log10(hi / lo)
        e = math.floor(math.log10(x) + 1e-9)
        m = round(x / 10.0**e, 6)
        subset = None if span <= 0.6 else {2.0, 5.0} if span <= 1.3 else {3.0}
        if subset is not None and m not in subset:
            return ""
        if -3 <= e <= 3:  # plain numbers read faster than 2 x 10^-1
            return rf"$\mathdefault{{{x:.{max(0, -e)}f}}}$"
        return rf"$\mathdefault{{{m:g}\times10^{{{e}}}}}$"


def _axes_of(target: Any) -> Iterable[Any]:
    if hasattr(target, "get_axes"):  # a Figure
        return target.get_axes()
    if hasattr(target, "xaxis"):  # one Axes
        return [target]
    return [a for t in target for a in _axes_of(t)]  # a list or array of them


def log_axes(target: Any) -> None:
    """Make every log-scaled axis of ``target`` (an Axes, a Figure, or a list or array of Axes)
    show at least two labelled ticks: minor ticks get labels when at most one major tick is in
    view. Decided at draw time, so later changes of the limits are followed; call it after
    ``set_xscale``/``set_yscale`` (which reset the formatters). Linear axes are left alone."""
    for ax in _axes_of(target):
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log" and not isinstance(axis.get_minor_formatter(),
                                                            ticker.NullFormatter):
                axis.set_minor_formatter(_MinorLogLabels())
