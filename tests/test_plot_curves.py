"""Risk curves a researcher keeps (issue 19): theory alone, six theory curves over one
simulation, one colour per config, divergence marked, readable log axes."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import labelled_ticks

from optdyn import noise, plot, simulate, theory  # noqa: E402
from optdyn.optimizers import SGD, Adam, ClippedSGD, SignSGD  # noqa: E402
from optdyn.plot import style  # noqa: E402
from optdyn.problems import LinearRegression, PowerLawCoefficients, spectra  # noqa: E402

STEPS = 300
OPTS = [SGD(0.05), SGD(0.1), SGD(3.0), SignSGD(1e-3), ClippedSGD(0.05, threshold=1.0),
        Adam(1e-3)]
LABELS = [o.label() for o in OPTS]


@pytest.fixture(scope="module")
def runs():
    p = LinearRegression(eigenvalues=spectra.power_law(40, alpha=0.75), basis="haar",
                         basis_seed=0, theta_star=PowerLawCoefficients(beta=0.75),
                         noise=noise.Gaussian(0.2))
    with warnings.catch_warnings():  # SGD(3) diverges (on purpose), Adam has no theory: NaN
        warnings.simplefilter("ignore")
        th = theory.run_available(p, OPTS, STEPS, warn=False)
    one = simulate.run(p, [SGD(0.1)], STEPS, seeds=2)
    both = simulate.run(p, [SGD(0.1), SGD(3.0)], STEPS, seeds=2)
    yield th, one, both
    plt.close("all")


def _texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _drawn(ax, ls):
    return [ln for ln in ax.get_lines() if ln.get_linestyle() == ls and len(ln.get_xdata())]


def _rgb(c):
    return mcolors.to_rgb(c)


def test_theory_dataset_plots_on_its_own(runs):
    th, _, _ = runs
    assert "seed" not in th.dims
    ax = plot.risk_curves(th)
    texts = _texts(ax)
    for label in LABELS:  # one legend entry per config, naming it
        assert sum(t.startswith(label + " ") or t == label for t in texts) == 1, (label, texts)
    assert any("Adam" in t and "no theory" in t for t in texts)
    dashed = _drawn(ax, "--")
    assert len(dashed) == 5  # every config with a curve; Adam has none
    colours = {_rgb(ln.get_color()) for ln in dashed}
    assert len(colours) == 5 and (0.0, 0.0, 0.0) not in colours  # no longer all black


def test_six_theory_curves_over_one_simulation_share_its_colour(runs):
    th, one, _ = runs
    ax = plot.overlay(one, th)
    (mean,) = _drawn(ax, "-")
    match = [ln for ln in _drawn(ax, "--") if _rgb(ln.get_color()) == _rgb(mean.get_color())]
    assert len(match) == 1  # SGD(lr=0.1): band, mean and theory in one colour
    assert _rgb(mean.get_color()) == _rgb(style.color(LABELS.index("SGD(lr=0.1)")))
    np.testing.assert_allclose(match[0].get_ydata(),
                               th.risk.sel(config=1).values[1:], rtol=1e-12)
    texts = _texts(ax)
    for label in LABELS:
        assert sum(t.startswith(label) for t in texts) == 1, (label, texts)
    assert any(t.startswith("solid: simulation mean") for t in texts)
    assert any(t.startswith("dashed: theory") for t in texts)


def test_diverged_configs_are_marked_and_do_not_set_the_range(runs):
    th, _, both = runs
    ax = plot.risk_curves(both, theory=th)
    div = style.color(LABELS.index("SGD(lr=3)"))
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "x" and len(ln.get_xdata())]
    assert [_rgb(m.get_color()) for m in marks] == [_rgb(div), _rgb(div)]  # simulation, theory
    text = next(t for t in _texts(ax) if t.startswith("SGD(lr=3)"))
    assert "[2/2 diverged]" in text and "diverged at $t = " in text
    # the diverging line is cut where it leaves the range; the range follows the finite data
    top = ax.get_ylim()[1]
    assert top < 10 * float(both.risk.isel(config=0).max())
    cut = [ln for ln in _drawn(ax, "--") if _rgb(ln.get_color()) == _rgb(div)]
    assert all(np.sum(np.asarray(ln.get_ydata()) > top) <= 1 for ln in cut)
    # the simulation's mark at the median divergence of its runs, the theory's where its cut
    # line leaves the top edge
    steps = both.diverged_step.sel(config=1).values
    x_sim = float(np.median(np.interp(steps, both.step.values, both.t.values)))
    assert np.isclose(marks[0].get_xdata()[0], x_sim)
    (line,) = cut
    xs = np.asarray(line.get_xdata())
    assert xs[max(0, xs.size - 2)] <= marks[1].get_xdata()[0] <= xs[-1]


def test_configs_selects_a_subset_in_the_full_figure_colours(runs):
    th, _, _ = runs
    ax = plot.risk_curves(th, configs=["SignSGD(lr=0.001)", 1])
    dashed = _drawn(ax, "--")
    assert sorted(_rgb(ln.get_color()) for ln in dashed) == sorted(
        [_rgb(style.color(3)), _rgb(style.color(1))])
    assert [t for t in _texts(ax) if not t.startswith(("dashed", "solid", "x:"))] == [
        "SignSGD(lr=0.001)", "SGD(lr=0.1)"]
    with pytest.raises(ValueError, match="no config labelled"):
        plot.risk_curves(th, configs=["SGD(lr=7)"])
    with pytest.raises(ValueError, match="out of range"):
        plot.risk_curves(th, configs=[12])


def test_simulation_only_and_old_keywords(runs):
    _, _, both = runs
    ax = plot.risk_curves(both, title="t", colors=["tab:blue", "tab:red"], x="step")
    assert any("diverged" in t for t in _texts(ax))
    (mean,) = _drawn(ax, "-")
    assert _rgb(mean.get_color()) == _rgb("tab:blue")
    assert ax.get_xlabel() == "step"


def test_labels_are_mathtext(runs):
    th, one, _ = runs
    ax = plot.overlay(one, th, title="overlay")
    for text in (ax.get_xlabel(), ax.get_ylabel()):
        assert "$" in text and "^(" not in text and " / d" not in text
    assert ax.get_xlabel() == r"$t = \mathrm{samples}/d$"
    assert ax.get_ylabel() == r"excess risk $R$"


def test_every_log_axis_of_a_demo_like_figure_has_two_tick_labels(runs, tmp_path):
    th, _, both = runs
    fig, axs = plt.subplots(1, 3, figsize=(12, 3.5))
    plot.risk_curves(both, ax=axs[0], theory=th, title="demo-like")
    plot.risk_curves(th, ax=axs[1], configs=[0, 1], title="one decade or less")
    axs[1].set_ylim(0.15, 0.6)
    axs[1].set_xlim(0.3, 2.0)
    axs[2].loglog([0.2, 9.0], [0.2, 9.0])  # a drawn-by-hand panel, fixed by save_figure
    axs[2].set_ylim(0.25, 8.0)
    plot.save_figure(fig, tmp_path / "f.png")
    for ax in axs:
        for axis in (ax.xaxis, ax.yaxis):
            assert axis.get_scale() == "log"
            assert labelled_ticks(axis) >= 2, (ax.get_title(), axis.axis_name)
