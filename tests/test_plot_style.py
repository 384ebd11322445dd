"""The shared figure style: a palette whose colours stay apart (also for colour-blind readers),
mathtext labels, log axes with at least two labelled ticks, phase maps in the same style."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from conftest import labelled_ticks

from optdyn.plot import style  # noqa: E402
from optdyn.plot.phases import PHASE_COLORS, phase_map  # noqa: E402

# sRGB (D65) -> CIELAB, and Machado, Oliveira & Fernandes (2009) dichromat simulation matrices
# (severity 1) applied to linear RGB
_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                 [0.0193339, 0.1191920, 0.9503041]])
_WHITE = np.array([0.95047, 1.0, 1.08883])
_CVD = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def _linear(c):
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(colour, vision="normal"):
    lin = np.clip(_CVD[vision] @ _linear(mcolors.to_rgb(colour)), 0, 1)
    f = _XYZ @ lin / _WHITE
    f = np.where(f > (6 / 29) ** 3, np.cbrt(f), f / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _distances(colours, vision):
    labs = [_lab(c, vision) for c in colours]
    return {(i, j): float(np.linalg.norm(labs[i] - labs[j]))
            for i, j in itertools.combinations(range(len(colours)), 2)}


def test_lab_conversion_is_right():
    np.testing.assert_allclose(_lab("#ffffff"), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(_lab("#ff0000"), [53.24, 80.09, 67.20], atol=0.05)


@pytest.mark.parametrize("vision", list(_CVD))
def test_palette_colours_stay_apart(vision):
    d = _distances(style.PALETTE, vision)
    neighbours = [d[i, i + 1] for i in range(len(style.PALETTE) - 1)]
    assert min(neighbours) > 20, neighbours  # SignSGD next to Adam: clearly different
    assert min(d.values()) > (20 if vision == "normal" else 15), d


def test_viridis_would_have_failed():
    """The old palette: neighbouring configs of six nearly coincide, as the issue reported."""
    cmap = plt.get_cmap("viridis")
    old = [cmap(v) for v in np.linspace(0.0, 0.9, 6)]
    d = _distances(old, "deuteranopia")
    assert min(d[i, i + 1] for i in range(5)) < 20


@pytest.mark.parametrize("vision", list(_CVD))
def test_phase_colours_are_colour_blind_safe(vision):
    assert min(_distances(PHASE_COLORS, vision).values()) > 40


def test_series_cycle_with_markers_past_the_palette():
    n = len(style.PALETTE)
    assert style.series(0)["color"] == style.series(n)["color"]
    assert "marker" not in style.series(0) and style.series(n)["marker"] is not None
    assert style.series(n)["marker"] != style.series(2 * n)["marker"]


def test_labels_are_mathtext():
    assert style.label("t") == r"$t = \mathrm{samples}/d$"
    assert style.label("risk") == r"excess risk $R$"
    assert style.time_label(r"\mathrm{Tr}\,K") == r"$t = \mathrm{samples}/\mathrm{Tr}\,K$"
    assert style.label("other") == "other"


@pytest.mark.parametrize("lim", [(0.2, 9.0), (0.5, 0.9), (0.03, 0.25), (2e-5, 7e-5),
                                 (1e-4, 1e2), (3.0, 3000.0)])
def test_log_axes_always_show_two_labels(lim):
    fig, ax = plt.subplots()
    ax.loglog(lim, lim)
    style.log_axes(ax)
    ax.set_xlim(*lim)  # limits set after log_axes are followed (decided at draw time)
    ax.set_ylim(*lim)
    fig.canvas.draw()
    assert labelled_ticks(ax.xaxis) >= 2 and labelled_ticks(ax.yaxis) >= 2
    if lim == (1e-4, 1e2):  # many decades: only the decades are labelled
        assert labelled_ticks(ax.yaxis) == len([v for v in ax.yaxis.get_majorticklocs()
                                           if lim[0] <= v <= lim[1]])
    plt.close(fig)


def test_log_axes_leaves_linear_axes_and_null_minor_formatters():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([1, 2], [1, 2])
    b.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    b.yaxis.set_minor_formatter(NullFormatter())
    before = a.xaxis.get_minor_formatter()
    style.log_axes(fig)
    assert a.xaxis.get_minor_formatter() is before
    assert isinstance(b.yaxis.get_minor_formatter(), NullFormatter)
    plt.close(fig)


def test_phase_map_in_the_shared_style():
    a, b = np.arange(0.25, 1.76, 0.25), np.arange(0.0, 1.26, 0.25)
    aa, bb = np.meshgrid(a, b, indexing="ij")
    lab = np.where(aa < 0.5, -1.0, np.where(bb > aa, 1.0, 0.0))
    ds = xr.Dataset({"label": (("alpha", "beta"), lab)}, coords={"alpha": a, "beta": b},
                    attrs={"d": 64, "sigma": 0.5})
    ax = phase_map(ds, extra_lines={r"$\beta = \alpha$": lambda x: x})
    for text in (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()):
        assert "$" in text and "^(" not in text and "α" not in text
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert r"$2\alpha + 2\beta = 1$" in names
    plt.close(ax.figure)
