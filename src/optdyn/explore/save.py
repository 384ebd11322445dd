"""Saving a view: the experiment spec (TOML, rerun by ``optdyn run``) and the figure (PNG).

The spec is :func:`optdyn.explore.view.document` of the view, theory only
(``simulate = false``): ``optdyn run view.toml`` computes the same theory curves the page drew
(to rounding) and writes them to ``theory.nc``. The figure is the project's
:func:`optdyn.plot.risk_curves` of the theory of all the view's optimizers, with the bands of a
finished simulation of the same view when there is one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import xarray as xr

from optdyn import plot, theory
from optdyn._core.files import write_atomic
from optdyn.explore.curves import X, experiment
from optdyn.explore.view import document

__all__ = ["save_view", "spec_text"]


def spec_text(view: dict[str, Any]) -> str:
    """The TOML text of a checked view's experiment, with a header saying how to rerun it."""
    import tomli_w

    doc = document(view)
    head = ("# Saved by `optdyn explore`. Rerun with `optdyn run FILE`: it writes theory.nc "
            "with the theory\n# curves drawn on the page. Set simulate = true to add the "
            f"simulation of {view['seeds']} seed(s).\n")
    return head + tomli_w.dumps(doc)


def save_view(view: dict[str, Any], out_dir: str | Path, simulation: xr.Dataset | None = None
              ) -> dict[str, str]:
    """Write ``view-TIME.toml`` and ``view-TIME.png`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = out / f"view-{stamp}"
    n = 1
    while base.with_suffix(".toml").exists():
        n += 1
        base = out / f"view-{stamp}-{n}"
    toml_path = write_atomic(base.with_suffix(".toml"), spec_text(view))
    exp = experiment(view)
    th = theory.run_available(exp.problem, exp.optimizers, exp.steps, exp.theory,
                              points_per_decade=exp.points_per_decade, warn=False,
                              **exp.theory_options)
    d = view["problem"]["d"]
    title = f"d = {d}, theory dashed" + (f", {simulation.sizes['seed']} seeds (10-90% band)"
                                         if simulation is not None else "")
    ax = plot.risk_curves(simulation, theory=th, x=X, title=title)
    png = base.with_suffix(".png")
    tmp = png.with_name(".tmp-" + png.name)
    plot.save_figure(ax, tmp)
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    tmp.replace(png)
    return {"spec": str(toml_path), "figure": str(png)}
