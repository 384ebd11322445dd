"""The SignSGD-favoured phase of "Phases of Muon" (arXiv 2605.09552), mapped by simulation.

The template theory's map (``muon-phases``) holds where label noise dominates; there it shows
SignSVD-favoured and trade-off points only. SignSGD's entrywise sign preconditions by K^(1/2) when
K is axis-aligned (docs/theory/muon.md section 2.3), and it wins at long horizons when the target
is noiseless, a regime where SignSVD's template fails (docs/muon.md, A1). This figure maps that
regime with the simulation engine itself (:func:`optdyn.analysis.phases.phase_diagram` with
``engine="simulation"``) at d and 2d, labelled over two (B, T) sets, since what the paper's
"uniformly" ranges over is not known (docs/theory/muon.md section 3.2). Each map is a sweep with
its own store (``muon-phases-sim-d64/`` ...) run on local worker processes (:data:`EXECUTOR`):
an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from optdyn import io  # noqa: E402
from optdyn.analysis.phases import LABELS, label_phases, phase_diagram  # noqa: E402
from optdyn.plot.curves import save_figure  # noqa: E402
from optdyn.plot.phases import PHASE_COLORS, phase_map  # noqa: E402
from optdyn.reproduce import figure, write_caption  # noqa: E402

__all__ = ["EXECUTOR", "SETTINGS", "LONG", "SPOTS", "simulated_maps", "spot_points"]

SETTINGS = dict(batch_sizes=(1, 4, 16), horizons=(100, 300, 1000, 3000, 10_000), sigma=0.0,
                basis="identity", engine="simulation", seeds=2, lrs_per_decade=2)
_ALPHAS = (0.5, 1.0, 1.5, 2.0)
_BETAS = (0.0, 0.25, 0.5, 1.0, 2.0)
LONG = (1000, 3000, 10_000)  # the long-horizon criterion
EXECUTOR = dict(executor="local", workers=None)  # where the maps' cases run
_DIMS = (64, 128)
SPOTS = ((1.5, 0.0), (1.0, 0.25), (2.0, 0.0))  # checked at d = 256, m = 512, 3 seeds
# the SignSVD-favoured / trade-off boundary read off the measured maps (docs/muon.md), drawn for
# reference
_FOUND = {r"$\beta = \alpha$ (found: SignSVD-favoured above)": lambda a: a}


def simulated_maps(out: Path, dims: tuple[int, ...] = _DIMS) -> dict[int, xr.Dataset]:
    """The simulated diagrams at each d (m = 2d), resumed from the store
    ``out/muon-phases-sim-d{d}`` and written to ``out/muon-phases-sim-d{d}.nc``."""
    maps = {}
    for d in dims:
        maps[d] = phase_diagram(_ALPHAS, _BETAS, d=d, store=out / f"muon-phases-sim-d{d}",
                                progress=None, **SETTINGS, **EXECUTOR)
        io.save(maps[d], out / f"muon-phases-sim-d{d}.nc")
    return maps


def spot_points(out: Path, points: tuple[tuple[float, float], ...] = SPOTS, d: int = 256
                ) -> dict[tuple[float, float], xr.Dataset]:
    """Single points of the map simulated at d (m = 2d) with 3 seeds (docs/theory/muon.md section
    3.2, the checks by simulation), each resumed from
    the store ``out/muon-phases-sim-d{d}-a{alpha}-b{beta}``."""
    kw = {**SETTINGS, "seeds": 3}
    spots = {}
    for a, b in points:
        name = f"muon-phases-sim-d{d}-a{a:g}-b{b:g}"
        spots[a, b] = phase_diagram([a], [b], d=d, progress=None, **kw, **EXECUTOR,
                                    store=out / name)
        io.save(spots[a, b], out / f"{name}.nc")
    return spots


def _table(ds: xr.Dataset, full: xr.DataArray, long: xr.DataArray) -> list[str]:
    lines = ["| alpha \\ beta | " + " | ".join(f"{b:g}" for b in ds.beta.values) + " |",
             "|---" * (ds.beta.size + 1) + "|"]
    for a in ds.alpha.values:
        cells = []
        for b in ds.beta.values:
            f, g = float(full.sel(alpha=a, beta=b)), float(long.sel(alpha=a, beta=b))
            cells.append("" if not np.isfinite(f) else f"{int(f):+d} / {int(g):+d}")
        lines.append(f"| {a:g} | " + " | ".join(cells) + " |")
    return lines


@figure("muon-phases-sim", "the three phases of SignSGD vs SignSVD by simulation (axis-aligned "
        "K, noiseless target) at d and 2d, over all horizons and over long ones")
def muon_phases_sim(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    maps = simulated_maps(out)
    spots = spot_points(out)
    labels = {(d, crit): (ds.label if crit == "all" else label_phases(ds, horizons=LONG))
              for d, ds in maps.items() for crit in ("all", "long")}
    fig, axes = plt.subplots(2, len(maps), figsize=(7.2 * len(maps), 9), constrained_layout=True)
    for j, (d, ds) in enumerate(maps.items()):
        for i, crit in enumerate(("all", "long")):
            hs = ds.horizon.values if crit == "all" else LONG
            phase_map(ds.assign(label=labels[d, crit]), axes[i, j], extra_lines=_FOUND,
                      title=rf"simulation $d = {d}$, $m = {2 * d}$, $\sigma = 0$, $K$ axis-aligned"
                            "\nlabel over "
                            rf"$B \in \{{{','.join(str(b) for b in ds.batch_size.values)}\}}$, "
                            rf"$T \in \{{{', '.join(f'{h:g}' for h in hs)}\}}$")
    d0, d1 = sorted(maps)
    spot_lines = []
    for (a, b), sp in spots.items():
        lab = int(label_phases(sp, horizons=LONG).item())
        ref = int(labels[d1, "long"].sel(alpha=a, beta=b))
        axes[1, -1].scatter(a, b, s=110, c=PHASE_COLORS[lab + 1],
                            edgecolors="k", marker="o" if lab == ref else "X", zorder=5)
        v = sp.log_ratio.isel(alpha=0, beta=0).sel(horizon=list(LONG)).values
        spot_lines.append(
            f"| {a:g} | {b:g} | {sp.attrs['d']} | {int(sp.label.item()):+d} / {lab:+d} | "
            + " / ".join(f"{int(labels[d, 'long'].sel(alpha=a, beta=b)):+d}" for d in maps)
            + " | "
            + "; ".join(" ".join(f"{x:+.2f}" for x in row) for row in v) + " |")
    paths = [save_figure(fig, out / "muon-phases-sim.png")]
    paths += [out / f"muon-phases-sim-d{d}.nc" for d in maps]
    paths += [out / f"muon-phases-sim-d{sp.attrs['d']}-a{a:g}-b{b:g}.nc"
              for (a, b), sp in spots.items()]
    lines = [f"Simulation (optdyn.simulate, {SETTINGS['seeds']} seeds, seed-mean risk), K "
             "axis-aligned with lambda_j = j^(-2 alpha), W* = diag(j^(-beta)) Z / sqrt(m), "
             "sigma = 0, W0 = 0, m = 2d; best constant lr per method, B and T over a geometric "
             f"grid ({SETTINGS['lrs_per_decade']} per decade, optdyn.analysis.phases.lr_grid); "
             "label = sign of log R_SignSGD - log R_SignSVD over the (B, T) set (+1 SignSVD-, "
             "-1 SignSGD-favoured, 0 trade-off; |.| < 0.02 ignored).", ""]
    bs = maps[d1].batch_size.values.tolist()
    for crit, name in (("all", f"all horizons {maps[d1].horizon.values.tolist()}"),
                       ("long", f"long horizons {list(LONG)}")):
        l0, l1 = labels[d0, crit].values, labels[d1, crit].values
        ok = np.isfinite(l0) & np.isfinite(l1)
        counts = {d: {LABELS[k]: int(np.sum(labels[d, crit].values == k)) for k in LABELS}
                  for d in maps}
        lines += [f"Over {name}, B in {bs}: counts {counts}; "
                  f"labels equal at d={d0} and d={d1} on {int((l0[ok] == l1[ok]).sum())} of "
                  f"{int(ok.sum())} points."]
    for d, ds in maps.items():
        lines += ["", f"Map d={d} (all horizons / long horizons):", ""]
        lines += _table(ds, labels[d, "all"], labels[d, "long"])
        lr, tmax = ds.log_ratio, int(ds.horizon.values[-1])
        lines += ["", f"log R_SignSGD/R_SignSVD at d={d}, T={tmax}, B = "
                  + " / ".join(str(b) for b in ds.batch_size.values) + ":", "",
                  "| alpha \\ beta | " + " | ".join(f"{b:g}" for b in ds.beta.values) + " |",
                  "|---" * (ds.beta.size + 1) + "|"]
        for a in ds.alpha.values:
            cells = []
            for b in ds.beta.values:
                v = lr.sel(alpha=a, beta=b, horizon=tmax).values
                cells.append("" if not np.all(np.isfinite(v)) else
                             " / ".join(f"{x:+.2f}" for x in v))
            lines.append(f"| {a:g} | " + " | ".join(cells) + " |")
        edges = int(ds.edge.values[:, np.isfinite(ds.label.values)].sum())
        lines += ["", f"Best rates at a grid end (d={d}): {edges} of "
                  f"{int(np.isfinite(ds.label.values).sum()) * ds.edge[:, 0, 0].size} cells. "
                  f"Simulation time {ds.attrs['elapsed_s']:.0f} s."]
    if spot_lines:
        lines += ["", "Spot checks at d = 256, m = 512, 3 seeds (circles on the lower right "
                  "panel, coloured by the d = 256 long-horizon label; x where it differs from "
                  f"d = {d1}). log ratio rows B = {bs}, columns T = {list(LONG)}:", "",
                  "| alpha | beta | d | label all / long | long label at d = "
                  + " / ".join(str(d) for d in maps) + " | log R_SignSGD/R_SignSVD |",
                  "|---|---|---|---|---|---|", *spot_lines]
    lines += ["", "Candidate lines drawn: " + "; ".join(json.loads(
        maps[d1].attrs["candidate_lines"])) + " (docs/theory/muon.md section 2.7 [I]).",
              f"Wall time of this call {time.perf_counter() - t0:.0f} s (resumed from the "
              "sweep stores where they exist)."]
    paths.append(write_caption(out, "muon-phases-sim", "Phases by simulation", lines))
    return paths
