"""What the explorer's page may ask for: the schema of a view, its bounds, and the experiment
document it stands for.

A *view* is a plain dict sent by the page::

    {"problem": {"d": 1000, "spectrum": "power_law", "alpha": 0.5, "rho": 0.5, "beta": 0.5,
                 "basis": "identity", "noise": "gaussian", "noise_scale": 0.1, "df": 3.0},
     "steps": 10000, "seeds": 4,
     "optimizers": [{"kind": "sgd", "lr": 0.1, "batch_size": 1, "momentum": 0.0}, ...]}

:func:`check_view` accepts only the keys of :data:`SCHEMA` and numbers within its bounds (the
page sends no code and no free-form spec), and :func:`document` turns the view into the
experiment document that ``optdyn run`` reads (:func:`optdyn.config.parse_experiment`), so what
the page draws and what a saved view reruns come from one description. Every refusal is a
:class:`~optdyn.errors.ConfigError` naming the field, e.g. ``problem.d: at most 4000``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from optdyn._core.errors import ConfigError, expected_one_of

__all__ = ["SCHEMA", "LIMITS", "DEFAULT_VIEW", "check_view", "document", "work"]

#: Bounds on what one request may ask: the theory's size, the horizon, the seeds of a
#: simulation, the number of optimizers drawn at once, and a simulation's work
#: (d x steps x batch x seeds, summed over the optimizers; about a minute on 2 cores).
LIMITS: dict[str, float] = {"d": 4000, "steps": 1_000_000, "seeds": 16, "optimizers": 8,
                            "sim_work": 2e9}


def _f(name: str, label: str, lo: float, hi: float, default: float, *, scale: str = "linear",
       integer: bool = False, when: dict[str, list[str]] | None = None,
       step: float | None = None) -> dict[str, Any]:
    field = {"name": name, "label": label, "min": lo, "max": hi, "default": default,
             "scale": scale, "integer": integer}
    if when:
        field["when"] = when
    if step is not None:
        field["step"] = step
    return field


def _c(name: str, label: str, choices: list[str], default: str,
       when: dict[str, list[str]] | None = None) -> dict[str, Any]:
    field = {"name": name, "label": label, "choices": choices, "default": default}
    if when:
        field["when"] = when
    return field


_LAW = ["power_law", "isotropic"]
#: The controls of the page: the problem's fields, each optimizer's hyperparameters, the run.
#: A number field has bounds and a scale (``log`` fields get a slider in log10); a choice field
#: its choices; ``when`` shows a field only for some values of another.
SCHEMA: dict[str, Any] = {
    "problem": [
        _f("d", "d", 1, LIMITS["d"], 1000, integer=True, scale="log"),
        _c("spectrum", "spectrum", ["power_law", "isotropic", "toeplitz"], "power_law"),
        _f("alpha", "alpha (lambda_j = j^-2alpha)", 0.0, 2.0, 0.5, step=0.01,
           when={"spectrum": ["power_law"]}),
        _f("rho", "rho (K_ij ~ rho^|i-j|)", -0.95, 0.95, 0.5, step=0.05,
           when={"spectrum": ["toeplitz"]}),
        _c("basis", "basis", ["identity", "haar"], "identity", when={"spectrum": _LAW}),
        _f("beta", "beta (theta*_j = j^-beta)", -0.5, 2.0, 0.5, step=0.01),
        _c("noise", "noise law", ["gaussian", "student_t", "cauchy", "none"], "gaussian"),
        _f("noise_scale", "noise scale", 1e-4, 10.0, 0.1, scale="log",
           when={"noise": ["gaussian", "student_t", "cauchy"]}),
        _f("df", "Student-t df", 1.0, 30.0, 3.0, step=0.1, when={"noise": ["student_t"]}),
    ],
    "optimizers": {
        "sgd": {"label": "SGD", "fields": [
            _f("lr", "lr", 1e-4, 10.0, 0.1, scale="log"),
            _f("batch_size", "batch", 1, 1024, 1, integer=True, scale="log"),
            _f("momentum", "momentum", 0.0, 0.99, 0.0, step=0.01)]},
        "sign_sgd": {"label": "signSGD", "fields": [
            _f("lr", "lr", 1e-6, 1.0, 1e-3, scale="log"),
            _f("batch_size", "batch", 1, 1024, 1, integer=True, scale="log")]},
        "clipped_sgd": {"label": "clipped SGD", "fields": [
            _f("lr", "lr", 1e-4, 10.0, 0.2, scale="log"),
            _f("batch_size", "batch", 1, 1024, 1, integer=True, scale="log"),
            _f("threshold", "threshold", 1e-3, 100.0, 1.0, scale="log")]},
        "adam": {"label": "Adam", "fields": [
            _f("lr", "lr", 1e-6, 1.0, 1e-3, scale="log"),
            _f("batch_size", "batch", 1, 1024, 1, integer=True, scale="log"),
            _f("b1", "beta1", 0.0, 0.999, 0.9, step=0.001),
            _f("b2", "beta2", 0.0, 0.9999, 0.999, step=0.0001)]},
    },
    "run": [
        _f("steps", "steps", 10, LIMITS["steps"], 10_000, integer=True, scale="log"),
        _f("seeds", "seeds (simulation)", 1, LIMITS["seeds"], 4, integer=True),
        # the integrator's local tolerance: at 1e-5 the default view's curves are within
        # 3.1e-4 of converged ones (rtol 1e-9; docs/explore.md), at about 60% of the time
        # of the driver's default 1e-6
        _f("rtol", "theory rtol", 1e-9, 1e-3, 1e-5, scale="log"),
    ],
}

#: The view the page opens with: four optimizers on a power-law problem at d = 1000.
DEFAULT_VIEW: dict[str, Any] = {
    "problem": {f["name"]: f["default"] for f in SCHEMA["problem"]},
    "steps": 10_000, "seeds": 4, "rtol": 1e-5,
    "optimizers": [
        {"kind": "sgd", "lr": 0.1, "batch_size": 1, "momentum": 0.0},
        {"kind": "sign_sgd", "lr": 1e-3, "batch_size": 1},
        {"kind": "clipped_sgd", "lr": 0.2, "batch_size": 1, "threshold": 1.0},
        {"kind": "sgd", "lr": 0.25, "batch_size": 1, "momentum": 0.0},
    ],
}


def _number(value: Any, field: dict[str, Any], where: str) -> float | int:
    """``value`` (a number or the text typed into a field) checked against ``field``."""
    if isinstance(value, bool):
        raise ConfigError(where, f"expected a number, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(where, f"expected a number, got {text!r}") from None
    if not isinstance(value, int | float):
        raise ConfigError(where, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(where, f"must be finite, got {value!r}")
    if field["integer"]:
        if value != int(value):
            raise ConfigError(where, f"must be a whole number, got {value!r}")
        value = int(value)
    if value < field["min"]:
        raise ConfigError(where, f"at least {field['min']:g}, got {value:g}")
    if value > field["max"]:
        raise ConfigError(where, f"at most {field['max']:g}, got {value:g}")
    return value


def _fields(raw: Any, fields: list[dict[str, Any]], where: str, extra: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(where, f"expected a table, got {type(raw).__name__}")
    known = {f["name"] for f in fields} | set(extra)
    for key in raw:
        if key not in known:
            raise ConfigError(f"{where}.{key}", "unknown field" + expected_one_of(sorted(known)))
    out: dict[str, Any] = {}
    for f in fields:
        at = f"{where}.{f['name']}" if where else f["name"]
        value = raw.get(f["name"], f["default"])
        if "choices" in f:
            if value not in f["choices"]:
                raise ConfigError(at, f"unknown choice {value!r}" + expected_one_of(f["choices"]))
            out[f["name"]] = value
        else:
            out[f["name"]] = _number(value, f, at)
    return out


def work(view: dict[str, Any]) -> float:
    """A simulation's work: d x steps x batch x seeds, summed over the optimizers."""
    d, steps, seeds = view["problem"]["d"], view["steps"], view["seeds"]
    return float(sum(d * steps * o.get("batch_size", 1) * seeds for o in view["optimizers"]))


def check_view(raw: Any) -> dict[str, Any]:
    """The view ``raw`` with every field checked and every default filled in.

    Raises:
        ConfigError: an unknown key or choice, a value that is not a number, or one outside
            the field's bounds (:data:`SCHEMA`, :data:`LIMITS`).
    """
    if not isinstance(raw, dict):
        raise ConfigError("view", f"expected a table, got {type(raw).__name__}")
    for key in raw:
        if key not in ("problem", "optimizers", "steps", "seeds", "rtol"):
            raise ConfigError(key, "unknown field" + expected_one_of(
                ["optimizers", "problem", "rtol", "seeds", "steps"]))
    view = _fields({k: v for k, v in raw.items() if k in ("steps", "seeds", "rtol")},
                   SCHEMA["run"], "")
    view["problem"] = _fields(raw.get("problem", {}), SCHEMA["problem"], "problem")
    opts = raw.get("optimizers", [])
    if not isinstance(opts, list) or not opts:
        raise ConfigError("optimizers", "give at least one optimizer")
    if len(opts) > LIMITS["optimizers"]:
        raise ConfigError("optimizers", f"at most {LIMITS['optimizers']:g} at once, "
                          f"got {len(opts)}")
    view["optimizers"] = []
    for i, o in enumerate(opts):
        kind = o.get("kind") if isinstance(o, dict) else None
        if kind not in SCHEMA["optimizers"]:
            raise ConfigError(f"optimizers[{i}].kind", f"unknown optimizer {kind!r}"
                              + expected_one_of(sorted(SCHEMA["optimizers"])))
        fields = SCHEMA["optimizers"][kind]["fields"]
        view["optimizers"].append({"kind": kind, **_fields(o, fields, f"optimizers[{i}]",
                                                           ("kind",))})
    return view


def _problem(p: dict[str, Any]) -> dict[str, Any]:
    if p["spectrum"] == "toeplitz":
        out: dict[str, Any] = {"kind": "linear_regression",
                               "covariance": {"kind": "toeplitz", "d": p["d"], "rho": p["rho"]}}
    else:
        eig = {"kind": "power_law", "d": p["d"], "alpha": p["alpha"]} \
            if p["spectrum"] == "power_law" else {"kind": "isotropic", "d": p["d"]}
        out = {"kind": "linear_regression", "eigenvalues": eig, "basis": p["basis"],
               "basis_seed": 0}
    out["theta_star"] = {"kind": "power_law", "beta": p["beta"]}
    out["theta0"] = {"kind": "zeros"}
    s = p["noise_scale"]
    out["noise"] = {"gaussian": {"law": "gaussian", "std": s},
                    "student_t": {"law": "student_t", "df": p["df"], "scale": s},
                    "cauchy": {"law": "cauchy", "scale": s},
                    "none": {"law": "none"}}[p["noise"]]
    return out


def document(view: dict[str, Any], *, name: str = "explore", simulate: bool = False,
             points_per_decade: int = 20) -> dict[str, Any]:
    """The experiment document of a checked view: what ``optdyn run`` reads.

    Theory by the ODE method at the view's tolerance (``theory = {method = "ode", rtol}``),
    float64; ``simulate`` adds the simulation of ``view["seeds"]`` seeds (float32 iterates, as
    ``optdyn run`` does by default).
    """
    return {"name": name, "steps": view["steps"], "seeds": view["seeds"],
            "points_per_decade": points_per_decade, "dtype": "float32",
            "theory": {"method": "ode", "rtol": view["rtol"]}, "simulate": simulate,
            "problem": _problem(view["problem"]),
            "optimizer": [copy.deepcopy(o) for o in view["optimizers"]]}
