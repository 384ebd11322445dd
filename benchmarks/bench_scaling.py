"""Speed of PLRF scaling from the deterministic-equivalent measure against the sampled K_f path.

Both paths in the same run, on the same (alpha, beta), SGD's risk ODE at batch 1 (issue 21):

1. One curve: the measure at d = 10^5 (v = 4d, 10^6 steps): build (fixed point, atoms, first
   compiled curve) and a warm curve; the sampled path (draw W, form and diagonalise K_f) at
   d = 2000, the largest it does in seconds, and the measure at that same d: the ratios.
2. The whole frontier (:func:`optdyn.analysis.scaling.compute_optimal`, constant lr, best rate
   per (d, steps), steps 16..2^18): the measure to d = 25600, and both paths over the common
   sizes d = 100..1600: the ratio at equal sizes.

Run: ``python benchmarks/bench_scaling.py [--quick]``; writes ``results-scaling.json`` (with
``--quick``, smaller sizes, ``results-scaling-quick.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

from optdyn import theory
from optdyn.analysis.scaling import compute_optimal
from optdyn.optimizers import SGD
from optdyn.problems import PowerLawRandomFeatures, SpectralMeasure
from optdyn.problems.spectral_measure import _plrf_atoms, plrf_equivalent

ALPHA, BETA, V_RATIO = 1.0, 0.75, 4


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _curve(problem, steps: int) -> float:
    """Seconds of one SGD ODE curve at half the critical rate, compiled already."""
    from optdyn.theory.laws import SGDLaw

    lr = 0.5 * SGDLaw.limits(problem, SGD(1.0), "ode")[1]
    theory.run(problem, SGD(lr), steps, method="ode")  # compile
    _, t = _timed(lambda: theory.run(problem, SGD(lr), steps, method="ode"))
    return t


def _measure(d: int) -> SpectralMeasure:
    """The measure at d, built anew (the atoms' cache cleared), with its first 10-step curve."""
    _plrf_atoms.cache_clear()
    m = plrf_equivalent(V_RATIO * d, d, ALPHA, BETA)
    _first_curve(m)
    return m


def _sampled(d: int):
    """The reduced sampled PLRF at d (W drawn, K_f formed) with its first 10-step curve (K_f's
    eigendecomposition)."""
    red = PowerLawRandomFeatures(v=V_RATIO * d, d=d, alpha=ALPHA, beta=BETA, seed=0).reduce(
        "gaussian")
    _first_curve(red)
    return red


def _first_curve(problem) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 10 steps end in the transient: only the set-up counts
        theory.run(problem, SGD(1e-3), 10, method="ode")


def main(quick: bool = False) -> dict:
    d_big = 20_000 if quick else 100_000
    d_s = 500 if quick else 2000
    steps = 10**5 if quick else 10**6
    out: dict = {"alpha": ALPHA, "beta": BETA, "v_ratio": V_RATIO, "steps": steps,
                 "machine": f"{platform.processor() or platform.machine()}, "
                            f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    m_big, t = _timed(lambda: _measure(d_big))
    out[f"measure_build_d{d_big}_s"] = t
    out[f"measure_atoms_d{d_big}"] = int(m_big.eigenvalues.size)
    out[f"measure_curve_d{d_big}_s"] = _curve(m_big, steps)

    m_s, t = _timed(lambda: _measure(d_s))
    out[f"measure_build_d{d_s}_s"] = t
    out[f"measure_curve_d{d_s}_s"] = _curve(m_s, steps)
    red, t = _timed(lambda: _sampled(d_s))
    out[f"sampled_build_d{d_s}_s"] = t
    out[f"sampled_curve_d{d_s}_s"] = _curve(red, steps)
    out["ratio_build_sampled_over_measure"] = (out[f"sampled_build_d{d_s}_s"]
                                               / out[f"measure_build_d{d_s}_s"])
    out["ratio_curve_sampled_over_measure"] = (out[f"sampled_curve_d{d_s}_s"]
                                               / out[f"measure_curve_d{d_s}_s"])

    ds_common = [100, 200, 400] if quick else [100, 200, 400, 800, 1600]
    ds_eq = ds_common + ([800] if quick else [3200, 6400, 12800, 25600])
    t_max = 2**14 if quick else 2**18
    kw = dict(t_max=t_max, v_ratio=V_RATIO, optimizers=("sgd",), schedules=("constant",),
              sgd_method="ode")
    fr_s, t = _timed(lambda: compute_optimal(ALPHA, BETA, ds_common, spectrum="sampled", **kw))
    out["frontier_sampled_common_s"] = t
    out["frontier_sampled_common_slope"] = float(fr_s["slope"].squeeze())
    _plrf_atoms.cache_clear()
    fr_e, t = _timed(lambda: compute_optimal(ALPHA, BETA, ds_common, spectrum="equivalent",
                                             **kw))
    out["frontier_measure_common_s"] = t
    out["frontier_measure_common_slope"] = float(fr_e["slope"].squeeze())
    out["frontier_ratio_sampled_over_measure"] = (out["frontier_sampled_common_s"]
                                                  / out["frontier_measure_common_s"])
    _plrf_atoms.cache_clear()
    fr_b, t = _timed(lambda: compute_optimal(ALPHA, BETA, ds_eq, spectrum="equivalent", **kw))
    out[f"frontier_measure_to_d{ds_eq[-1]}_s"] = t
    out[f"frontier_measure_to_d{ds_eq[-1]}_slope"] = float(fr_b["slope"].squeeze())
    out["frontier_predicted_slope"] = float(fr_b["predicted_slope"])
    out["ds_common"], out["ds_measure"] = ds_common, ds_eq
    for k, v in out.items():
        print(f"{k:45s} {v}")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    a = ap.parse_args()
    res = main(a.quick)
    name = "results-scaling-quick.json" if a.quick else "results-scaling.json"
    path = Path(__file__).with_name(name)
    path.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {path}")
