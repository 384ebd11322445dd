"""The explorer's curves: theory per optimizer (cached), simulation bands, and the page's JSON.

Theory curves come from :func:`optdyn.theory.run_available`, one optimizer at a time and kept
in a small LRU cache keyed by the problem's spec, the optimizer's spec and the horizon: moving
one optimizer's slider recomputes that optimizer's curve only. Each curve carries its limit
risk R_inf and critical rate (:func:`optdyn.theory.limit_risk`, :func:`optdyn.theory.critical_lr`
of the law) and, where there is no curve or it diverges, the reason in words.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import xarray as xr

from optdyn import theory
from optdyn._core.spec import canonical_json
from optdyn.config import Experiment, parse_experiment
from optdyn.explore.view import document
from optdyn.plot import style
from optdyn.plot._draw import sim_part, theory_part

__all__ = ["experiment", "theory_payload", "sim_payload", "X", "BAND"]

#: The x coordinate of the page and of its PNG (t = samples / d, the field's convention).
X = "t"
#: The simulation band: the 10% and 90% quantiles of the seeds that did not diverge.
BAND = (0.1, 0.9)

_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 256
_LOCK = threading.Lock()


def experiment(view: dict[str, Any], simulate: bool = False) -> Experiment:
    """The experiment of a checked view (what a saved view reruns with ``optdyn run``)."""
    return parse_experiment(document(view, simulate=simulate))


def _finite(a: Any) -> list[float | None]:
    """JSON numbers, with null where the value is not finite (the page leaves a gap)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(a, dtype=float)]


def _number(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _message(sub: xr.Dataset, reason: str | None) -> str | None:
    if reason is not None:
        return f"no theory: {reason}"
    lr = float(sub["lr"])
    crit = float(sub["critical_lr"])
    if bool(sub["diverged"]):
        msg = f"diverges at step {int(sub['diverged_step'])}"
        if np.isfinite(crit):
            msg += f": lr {lr:.4g} is above the critical rate {crit:.4g}"
        return msg
    if np.isfinite(crit) and lr > crit:
        return (f"lr {lr:.4g} is above the critical rate {crit:.4g}: the risk will diverge "
                "past this horizon")
    return None


def _one(problem: Any, opt: Any, steps: int, ppd: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        th = theory.run_available(problem, [opt], steps, "ode", points_per_decade=ppd,
                                  warn=False)
    sub = th.isel(config=0)
    reasons = json.loads(th.attrs.get("no_theory", "{}"))
    reason = next(iter(reasons.values()), None)
    out: dict[str, Any] = {"label": str(sub["label"].values), "has_theory": reason is None,
                           "message": _message(sub, reason)}
    if reason is None:
        part = theory_part(sub, X, "risk")
        out.update(x=_finite(part.xs), risk=_finite(part.ys),
                   limit_risk=_number(float(sub["limit_risk"])),
                   critical_lr=_number(float(sub["critical_lr"])),
                   diverged=bool(part.diverged), x_div=part.x_div)
    return out


def theory_payload(view: dict[str, Any], ppd: int = 20) -> dict[str, Any]:
    """The page's theory JSON for a checked view: one entry per optimizer, in order, with
    ``x`` (t = samples / d), ``risk``, ``limit_risk``, ``critical_lr``, ``message`` and a
    colour of the project's palette."""
    exp = experiment(view)
    prob_key = canonical_json(exp.raw["problem"])
    curves = []
    for i, (spec, opt) in enumerate(zip(exp.raw["optimizer"], exp.optimizers, strict=True)):
        key = "|".join((prob_key, canonical_json(spec), str(exp.steps), str(ppd)))
        with _LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
        if hit is None:
            hit = _one(exp.problem, opt, exp.steps, ppd)
            with _LOCK:
                _CACHE[key] = hit
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        curves.append({**hit, "color": style.color(i)})
    return {"x_label": "t = samples / d", "curves": curves}


def sim_payload(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The page's simulation JSON: per config the mean and the :data:`BAND` quantiles of the
    seeds that did not diverge, and how many diverged (the same split as the figures')."""
    out = []
    for c in range(ds.sizes["config"]):
        p = sim_part(ds.isel(config=c), X, "risk")
        entry: dict[str, Any] = {"x": _finite(p.xs), "n_runs": p.n_runs, "n_div": p.n_div}
        if p.good.shape[0]:
            lo, hi = np.quantile(p.good, BAND, axis=0)
            entry.update(mean=_finite(p.good.mean(axis=0)), lo=_finite(lo), hi=_finite(hi))
        out.append(entry)
    return out
