"""Experiment files: a TOML description of a problem, optimizers, steps, seeds and outputs.

Example (``optdyn run experiment.toml``)::

    name = "sgd-vs-sign"
    steps = 20000
    seeds = 8                       # or a list of seed values
    points_per_decade = 10
    dtype = "float32"
    theory = true                   # also the theory curves: true / "ode" | "exact" | false

    [problem]
    kind = "linear_regression"
    d = 500
    spectrum = { kind = "power_law", alpha = 0.75 }   # isotropic | power_law | toeplitz
    basis = "haar"                                    # identity | haar
    basis_seed = 0
    theta_star = { kind = "power_law", beta = 0.75 }  # power_law | random | zeros
    theta0 = { kind = "zeros" }
    noise = { law = "student_t", df = 3, scale = 0.3 }

    [[optimizer]]
    kind = "sgd"
    lr = 0.05
    sweep = { lr = [0.05, 0.1, 0.4] }   # optional: one config per value

    [[optimizer]]
    kind = "clipped_sgd"
    lr = { schedule = "cosine", peak = 0.1, total_steps = 20000 }
    threshold = 3.0

    [output]
    dir = "runs/sgd-vs-sign"     # dataset.nc (theory.nc) and risk.png are written there
    figure = true

Every error names the offending field, e.g. ``optimizer[1].lr: must be finite and >= 0``, and a
misspelled key comes with the closest valid name.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from pathlib import Path
from typing import Any

from optdyn import optimizers as opt_mod
from optdyn._core.errors import ConfigError
from optdyn._core.registry import check_keys
from optdyn.optimizers import resolve_key
from optdyn.problems import LinearRegression, spectra
from optdyn.problems.targets import vector_from_config

__all__ = ["Experiment", "load_experiment", "parse_experiment"]

OPTIMIZERS = {
    "sgd": opt_mod.SGD,
    "sign_sgd": opt_mod.SignSGD,
    "clipped_sgd": opt_mod.ClippedSGD,
    "adam": opt_mod.Adam,
    "normalized_sgd": opt_mod.NormalizedSGD,
}
TOP_KEYS = {"name", "steps", "seeds", "points_per_decade", "dtype", "theory", "problem",
            "optimizer", "output"}
THEORY_VALUES = (False, True, "ode", "exact")
PROBLEM_KEYS = {"kind", "d", "spectrum", "basis", "basis_seed", "seed", "theta_star", "theta0",
                "noise", "covariance_scale"}
OUTPUT_KEYS = {"dir", "figure", "dataset"}


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A parsed experiment: what :func:`optdyn.simulate.run` needs, plus the outputs."""

    name: str
    problem: LinearRegression
    optimizers: list[Any]
    steps: int
    seeds: Any
    points_per_decade: int
    dtype: str
    output_dir: Path
    figure: bool
    raw: dict[str, Any]
    theory: str | None = None


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    check_keys(table, allowed, where)


def _require(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}.{key}" if where else key, "is required")
    return table[key]


def _prefixed(where: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ConfigError as e:
        raise ConfigError(f"{where}.{e.field}", str(e).split(": ", 1)[-1]) from None
    except TypeError as e:
        raise ConfigError(where, str(e)) from None


def _spectrum(cfg: Any, d: int) -> dict[str, Any]:
    where = "problem.spectrum"
    if not isinstance(cfg, dict):
        raise ConfigError(where, "expected a table such as { kind = \"power_law\", alpha = 1.0 }")
    cfg = dict(cfg)
    kind = cfg.pop("kind", None)
    builders = {"isotropic": spectra.isotropic, "power_law": spectra.power_law,
                "toeplitz": spectra.toeplitz_covariance}
    if kind not in builders:
        raise ConfigError(f"{where}.kind", f"unknown spectrum {kind!r}; expected one of "
                          f"{sorted(builders)}")
    allowed = {"isotropic": {"value"}, "power_law": {"alpha", "scale"},
               "toeplitz": {"rho", "diag_range", "seed"}}[kind]
    _check_keys(cfg, allowed, where)
    if "diag_range" in cfg:
        cfg["diag_range"] = tuple(cfg["diag_range"])
    out = _prefixed(where, builders[kind], d, **cfg)
    return {"covariance": out} if kind == "toeplitz" else {"eigenvalues": out}


def _problem(cfg: Any) -> LinearRegression:
    if not isinstance(cfg, dict):
        raise ConfigError("problem", "expected a [problem] table")
    _check_keys(cfg, PROBLEM_KEYS, "problem")
    kind = cfg.get("kind", "linear_regression")
    if kind != "linear_regression":
        raise ConfigError("problem.kind", f"unknown problem {kind!r}; expected 'linear_regression'")
    d = _require(cfg, "d", "problem")
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ConfigError("problem.d", f"must be a positive integer, got {d!r}")
    kw: dict[str, Any] = _spectrum(_require(cfg, "spectrum", "problem"), d)
    if "basis" in cfg:
        if "covariance" in kw:
            raise ConfigError("problem.basis", "a toeplitz spectrum is a full covariance; "
                              "it has no separate basis")
        kw["basis"] = cfg["basis"]
    for key in ("theta_star", "theta0"):
        if key in cfg:
            val = cfg[key]
            kw[key] = vector_from_config(val, f"problem.{key}") if isinstance(val, dict) else val
    if "noise" in cfg:
        if not isinstance(cfg["noise"], dict):
            raise ConfigError("problem.noise", "expected a table such as { law = \"gaussian\", "
                              "std = 0.1 }")
        kw["noise"] = cfg["noise"]
    for key in ("basis_seed", "seed"):
        if key in cfg:
            kw[key] = cfg[key]
    return _prefixed("problem", LinearRegression, **kw)


def _optimizers(cfgs: Any) -> list[Any]:
    if isinstance(cfgs, dict):
        cfgs = [cfgs]
    if not isinstance(cfgs, list) or not cfgs:
        raise ConfigError("optimizer", "expected one or more [[optimizer]] tables")
    out = []
    for i, cfg in enumerate(cfgs):
        where = f"optimizer[{i}]"
        if not isinstance(cfg, dict):
            raise ConfigError(where, "expected a table")
        cfg = dict(cfg)
        kind = cfg.pop("kind", None)
        if not isinstance(kind, str):
            raise ConfigError(f"{where}.kind", f"expected an optimizer name, got {kind!r}")
        cls = OPTIMIZERS[resolve_key(kind, OPTIMIZERS, f"{where}.kind")]
        fields = {f.name for f in dataclasses.fields(cls)} - {"name"}
        sweep = cfg.pop("sweep", {})
        _check_keys(cfg, fields, where)
        _check_keys(sweep, fields, f"{where}.sweep")
        for key, vals in sweep.items():
            if not isinstance(vals, list) or not vals:
                raise ConfigError(f"{where}.sweep.{key}", "expected a non-empty list of values")
        keys = list(sweep)
        for combo in itertools.product(*(sweep[k] for k in keys)) if keys else [()]:
            kw = {**cfg, **dict(zip(keys, combo, strict=True))}
            out.append(_prefixed(where, cls, **kw))
    return out


def parse_experiment(raw: dict[str, Any], base_dir: Path | None = None) -> Experiment:
    """Validate a parsed TOML document and build the experiment."""
    _check_keys(raw, TOP_KEYS, "")
    name = str(raw.get("name", "experiment"))
    steps = _require(raw, "steps", "")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError("steps", f"must be a positive integer, got {steps!r}")
    seeds = raw.get("seeds", 8)
    ppd = raw.get("points_per_decade", 10)
    dtype = raw.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ConfigError("dtype", f"expected 'float32' or 'float64', got {dtype!r}")
    theory = raw.get("theory", False)
    if theory not in THEORY_VALUES or isinstance(theory, int) and not isinstance(theory, bool):
        raise ConfigError("theory", f"expected true, false, 'ode' or 'exact', got {theory!r}")
    problem = _problem(_require(raw, "problem", ""))
    opts = _optimizers(_require(raw, "optimizer", ""))
    output = raw.get("output", {})
    _check_keys(output, OUTPUT_KEYS, "output")
    out_dir = Path(output.get("dir", f"runs/{name}"))
    if base_dir is not None and not out_dir.is_absolute():
        out_dir = Path.cwd() / out_dir
    return Experiment(name=name, problem=problem, optimizers=opts, steps=steps, seeds=seeds,
                      points_per_decade=ppd, dtype=dtype, output_dir=out_dir,
                      figure=bool(output.get("figure", True)), raw=raw,
                      theory={True: "ode", False: None}.get(theory, theory))


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment TOML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("experiment", f"no such file: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("experiment", f"{path} is not valid TOML: {e}") from None
    return parse_experiment(raw, base_dir=path.parent)
