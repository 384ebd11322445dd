"""Latency of the explorer: from a slider change to the new curves drawn, in a real browser.

Starts ``optdyn explore``'s server on a free port, opens the page in headless Chromium
(Playwright driving Debian's ``chromium``) with the default view (4 optimizers, d = 1000,
10^4 steps), and moves sliders 50 times each, waiting for every redraw:

- ``lr``: SGD's learning-rate slider (one curve recomputed, the other three from the cache);
- ``alpha``: the spectrum's exponent (all four curves recomputed);
- ``d``: the dimension (all four recomputed, each new d a new mode count);
- ``momentum``: SGD's momentum (20 changes), whose theory is the block law, much slower.

The latency is measured in the page, from the slider's input event to the end of the redraw
(Plotly's promise and the next animation frame), so it includes the request, the theory, the
JSON and the drawing. Every value is new (no curve comes from the cache for the slider moved).
Reports the median and the 90th percentile, and the server's theory time for the same changes.

    .venv/bin/python benchmarks/bench_explore.py [--changes 50] [--out results-explore.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np

CHROMIUM = os.environ.get("OPTDYN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HERE = Path(__file__).parent


def _move(page, slider: str, value: float) -> tuple[float, float]:
    """Set a slider, fire its input event, wait for the redraw; (latency ms, theory ms)."""
    n = page.evaluate("window.explorer.latencies.length")
    page.evaluate("([id, v]) => { const s = document.getElementById(id); s.value = v;"
                  " s.dispatchEvent(new Event('input', {bubbles: true})); }", [slider, value])
    page.wait_for_function(f"() => window.explorer.latencies.length > {n}"
                           " && !window.explorer.inflight", timeout=60_000)
    ms = page.evaluate("window.explorer.latencies[window.explorer.latencies.length - 1]")
    return float(ms), float(page.evaluate("window.explorer.curves.elapsed_ms"))


def run(changes: int) -> dict:
    from playwright.sync_api import sync_playwright

    from optdyn.explore import start

    srv = start(out_dir="/tmp/optdyn-bench-explore")
    rows = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(srv.url)
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            # slider positions, one slider step apart (every value new): SGD's lr from 0.1 up
            # in log10 steps of 0.01, alpha from 0.3 up in steps of 0.01, d from 1000 down in
            # log10 steps of 0.01 (1000 ... 324)
            k = np.arange(changes)
            # (slider, values, warm-up value, sliders set first: [(slider, value)])
            sweeps = {
                "lr": ("opt-0-lr-slider", -1.0 + 0.01 * (k + 1), -1.2, []),
                "alpha": ("problem-alpha-slider", 0.3 + 0.01 * k, 0.25,
                          [("opt-0-lr-slider", -1.0)]),
                # SGD with momentum: the block law (3 x 3 matrix exponentials per mode and step)
                "momentum": ("opt-0-momentum-slider", 0.5 + 0.01 * k[:20], 0.3,
                             [("problem-alpha-slider", 0.5), ("opt-0-lr-slider", -1.7)]),
                "d": ("problem-d-slider", 3.0 - 0.01 * (k + 1), 3.3,
                      [("opt-0-momentum-slider", 0.0), ("opt-0-lr-slider", -1.0)]),
            }
            for name, (slider, values, warm, setup) in sweeps.items():
                for other, v in setup:
                    _move(page, other, v)
                _move(page, slider, warm)  # warm this path once (a value outside the sweep)
                lat, th = zip(*(_move(page, slider, float(v)) for v in values), strict=True)
                rows[name] = {"median_ms": float(np.median(lat)),
                              "p90_ms": float(np.percentile(lat, 90)),
                              "theory_median_ms": float(np.median(th)),
                              "max_ms": float(np.max(lat)), "changes": len(values)}
                print(f"{name:6s} median {rows[name]['median_ms']:6.1f} ms  "
                      f"p90 {rows[name]['p90_ms']:6.1f} ms  (theory median "
                      f"{rows[name]['theory_median_ms']:.1f} ms)")
            browser.close()
    finally:
        srv.stop()
    return {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
            f"{os.cpu_count()} cores", "view": "default: SGD x2, signSGD, clipped SGD; "
            "d = 1000, 10^4 steps, power law alpha = 0.5", "target_ms": 150, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--out", type=Path, default=HERE / "results-explore.json")
    args = ap.parse_args()
    res = run(args.changes)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
