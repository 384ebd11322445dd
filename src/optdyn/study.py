"""Studies as data: one problem, its optimizers, the run settings and a grid, in TOML or a dict.

A study file (``optdyn run STUDY.toml``, ``optdyn sweep STUDY.toml``)::

    name = "muon-vs-signsvd"
    steps = 2000
    seeds = 4                 # a number of seeds (0..n-1) or a list of seed values
    points_per_decade = 10
    dtype = "float32"
    simulate = true           # false: theory only
    stack = 8                 # configs per compiled simulation stack (fixes the float32 bits)
    theory = "mean-field"     # false | true ("ode") | "ode" | "exact" | "mean-field" |
                              # "conjecture" | { method = "mean-field", n_mc = 8 }

    [problem]
    kind = "matrix_regression"
    d = 32
    m = 16
    eigenvalues = { kind = "power_law", alpha = 1.0 }   # d comes from the problem
    target = { kind = "power_law", beta = 1.0 }
    sigma = 0.1

    [[optimizer]]
    kind = "muon"
    lr = 0.02
    batch_size = 16
    ns_dtype = "bfloat16"

    [[optimizer]]
    kind = "signsvd"
    lr = 0.02
    batch_size = 16

    [sweep]
    "optimizer.lr" = [0.005, 0.01, 0.02, 0.04]

Every table is the spec of a registered class (:mod:`optdyn._core.spec`): its keys are the
class's own fields, so every problem, optimizer, noise law, schedule, target and spectrum builder
and optax transformation (``{ kind = "optax", transformation = { optax = "adamw",
learning_rate = 1e-3 } }``) can be written down. Errors name the field path and the closest valid
name. The older experiment form of a linear regression (``d = ...`` and ``spectrum = {...}`` in
``[problem]``) is still read.

:func:`parse_study` validates a document and normalises it (every default written out), so the
spec a Dataset records (``attrs["spec"]``) runs again as it is.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optdyn import noise as _noise  # noqa: F401  (fills the registry)
from optdyn import optimizers as _optimizers  # noqa: F401
from optdyn import problems as _problems  # noqa: F401
from optdyn import schedules as _schedules  # noqa: F401
from optdyn._core.errors import ConfigError, expected_one_of
from optdyn._core.registry import check_keys, did_you_mean
from optdyn._core.spec import build, canonical_json, check_path, set_path, spec_hash, to_spec
from optdyn._version import __version__
from optdyn.grid import Grid, grid_from_spec

__all__ = ["RUN_KEYS", "Study", "build_problem", "load_study", "optimizer_objects",
           "parse_study", "point_objects"]

RUN_KEYS = {"steps", "seeds", "points_per_decade", "dtype", "theory", "simulate", "stack"}
TOP_KEYS = RUN_KEYS | {"name", "problem", "optimizer", "sweep", "output"}
THEORY_METHODS = ("ode", "exact", "mean-field", "conjecture")
CATEGORIES = {"problem": "problem", "optimizer": "optimizer"}


@dataclasses.dataclass(frozen=True)
class Study:
    """A validated study: ``spec`` (problem, optimizer list, run settings; every default
    written out), the ``grid`` over its fields, its ``name`` and ``output`` table."""

    spec: dict[str, Any]
    grid: Grid
    name: str = "study"
    output: dict[str, Any] = dataclasses.field(default_factory=dict)

    def point_spec(self, point: int) -> dict[str, Any]:
        """The spec of one grid point: the base spec with the point's field values set."""
        spec = self.spec
        for path, value in self.grid.assignment(point).items():
            spec = set_path(spec, path, value)
            if path == "theory":
                spec["theory"] = _theory(value)
        return spec

    def document(self) -> dict[str, Any]:
        """The whole study as one plain dict (what :func:`parse_study` reads)."""
        out = {"name": self.name, **copy.deepcopy(self.spec)}
        if out["theory"] is None:  # TOML has no null
            out["theory"] = False
        if self.grid.dims:
            out["sweep"] = self.grid.to_spec()
        if self.output:
            out["output"] = dict(self.output)
        return out

    @property
    def hash(self) -> str:
        """Content address of the spec and grid (with the optdyn version)."""
        return spec_hash({"spec": self.spec, "sweep": self.grid.to_spec(),
                          "order": [d.name for d in self.grid.dims]}, __version__)


@functools.lru_cache(maxsize=8)
def _problem_of(text: str) -> Any:
    return build("problem", json.loads(text), "problem")


def build_problem(table: Any) -> Any:
    """The problem of a spec table, built once per process for each spec (problems are
    immutable; building one can cost a sampled sketch and an eigendecomposition)."""
    try:
        text = canonical_json(table)
    except TypeError:  # a table holding arrays
        return build("problem", table, "problem")
    return _problem_of(text)


def optimizer_objects(spec: Mapping[str, Any]) -> list[Any]:
    """The optimizers of a point spec."""
    return [build("optimizer", o, f"optimizer[{i}]") for i, o in enumerate(spec["optimizer"])]


def point_objects(spec: Mapping[str, Any]) -> tuple[Any, list[Any]]:
    """The problem and optimizers of a point spec."""
    return build_problem(spec["problem"]), optimizer_objects(spec)


def _int(field: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(field, f"must be an integer >= {low}, got {value!r}")
    return int(value)


def _theory(value: Any) -> dict[str, Any] | None:
    if value is False or value is None:
        return None
    if value is True:
        return {"method": "ode"}
    if isinstance(value, str):
        value = {"method": value}
    if not isinstance(value, Mapping):
        raise ConfigError("theory", f"expected true, false, a method name or a table, got "
                          f"{value!r}")
    out = dict(value)
    method = out.get("method", "ode")
    if method not in THEORY_METHODS:
        hint = did_you_mean(method, THEORY_METHODS)
        raise ConfigError("theory.method", f"unknown theory method {method!r}"
                          f"{expected_one_of(THEORY_METHODS, hint)}")
    out["method"] = method
    return out


def _legacy_problem(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The older experiment form (``d`` and ``spectrum`` in ``[problem]``) as a spec."""
    cfg = dict(cfg)
    cfg.setdefault("kind", "linear_regression")
    if str(cfg["kind"]).replace("_", "").lower() != "linearregression" or "spectrum" not in cfg:
        return cfg
    spectrum = cfg.pop("spectrum")
    d = cfg.pop("d", None)
    if not isinstance(spectrum, Mapping):
        raise ConfigError("problem.spectrum", "expected a table such as { kind = \"power_law\", "
                          "alpha = 1.0 }")
    spectrum = dict(spectrum)
    if d is not None:
        spectrum.setdefault("d", d)
    key = "covariance" if spectrum.get("kind") == "toeplitz" else "eigenvalues"
    cfg[key] = spectrum
    if cfg.pop("covariance_scale", None) is not None:
        raise ConfigError("problem.covariance_scale", "is no longer read; scale the spectrum")
    return cfg


def _optimizer_tables(cfgs: Any) -> list[dict[str, Any]]:
    """The optimizer tables, a per-table ``sweep = { lr = [...] }`` expanded into configs."""
    if isinstance(cfgs, Mapping):
        cfgs = [cfgs]
    if not isinstance(cfgs, list) or not cfgs:
        raise ConfigError("optimizer", "expected one or more [[optimizer]] tables")
    out = []
    for i, cfg in enumerate(cfgs):
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"optimizer[{i}]", "expected a table")
        cfg = dict(cfg)
        sweep = cfg.pop("sweep", None)
        if sweep is None:
            out.append((i, cfg))
            continue
        if not isinstance(sweep, Mapping) or len(sweep) != 1:
            raise ConfigError(f"optimizer[{i}].sweep", "expected one field = [values] (use the "
                              "top-level [sweep] table for grids)")
        (key, vals), = sweep.items()
        if not isinstance(vals, list) or not vals:
            raise ConfigError(f"optimizer[{i}].sweep.{key}", "expected a non-empty list")
        out.extend((i, {**cfg, key: v}) for v in vals)
    tables = []
    for i, cfg in out:
        obj = build("optimizer", cfg, f"optimizer[{i}]")
        tables.append(to_spec(obj, f"optimizer[{i}]"))
    return tables


def parse_study(raw: Mapping[str, Any], *, max_points: int | None = 1_000_000) -> Study:
    """Validate a study document (a parsed TOML file or a plain dict) and normalise it.

    ``max_points``: a grid with more points is refused before any work (None: no limit).
    """
    if not isinstance(raw, Mapping):
        raise ConfigError("study", "expected a table")
    check_keys(raw, TOP_KEYS, "")
    if "problem" not in raw:
        raise ConfigError("problem", "is required")
    if "optimizer" not in raw:
        raise ConfigError("optimizer", "is required")
    table = _legacy_problem(raw["problem"])
    try:
        problem = build_problem(table)
    except ConfigError as e:
        if "spectrum" not in raw["problem"]:
            raise
        field = e.field.replace("problem.eigenvalues", "problem.spectrum").replace(
            "problem.covariance", "problem.spectrum")
        if field == "problem.spectrum.d" and "d" not in raw["problem"]:
            field = "problem.d"
        raise ConfigError(field, str(e).split(": ", 1)[-1]) from None
    spec: dict[str, Any] = {
        "problem": to_spec(problem, "problem"),
        "optimizer": _optimizer_tables(raw["optimizer"]),
        "steps": _int("steps", raw.get("steps")),
        "points_per_decade": _int("points_per_decade", raw.get("points_per_decade", 10)),
        "dtype": raw.get("dtype", "float32"),
        "simulate": raw.get("simulate", True),
        "theory": _theory(raw.get("theory", False)),
        "stack": _int("stack", raw.get("stack", 8)),
    }
    if spec["dtype"] not in ("float32", "float64"):
        raise ConfigError("dtype", f"expected 'float32' or 'float64', got {spec['dtype']!r}")
    if not isinstance(spec["simulate"], bool):
        raise ConfigError("simulate", f"expected true or false, got {spec['simulate']!r}")
    if not spec["simulate"] and spec["theory"] is None:
        raise ConfigError("theory", "a study with simulate = false needs a theory method "
                          "(e.g. theory = \"ode\"), or set simulate = true")
    seeds = raw.get("seeds", 8)
    if isinstance(seeds, list):
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise ConfigError("seeds", "expected a non-empty list of integers")
        spec["seeds"] = list(seeds)
    else:
        spec["seeds"] = _int("seeds", seeds)
    grid = grid_from_spec(raw.get("sweep"))
    for path in grid.fields:
        check_path(spec, path, CATEGORIES, RUN_KEYS)
    n = grid.size
    if max_points is not None and n > max_points:
        raise ConfigError("sweep", f"the grid has {n:,} points (shape {grid.shape}), more than "
                          f"the limit of {max_points:,}: confirm it (optdyn sweep --yes, or "
                          "max_points=None) or make it smaller")
    output = raw.get("output", {})
    if not isinstance(output, Mapping):
        raise ConfigError("output", "expected a table")
    check_keys(output, {"dir", "figure", "dataset"}, "output")
    study = Study(spec, grid, str(raw.get("name", "study")), dict(output))
    _check_values(study)
    return study


def _check_values(study: Study) -> None:
    """Build every swept value once (on the base spec) so a bad value fails before any work."""
    for dim in study.grid.dims:
        for i in range(dim.size):
            spec = study.spec
            for path, vals in zip(dim.fields, dim.values, strict=True):
                spec = set_path(spec, path, vals[i])
            if any(f.startswith("problem") for f in dim.fields):
                if not isinstance(spec["problem"], Mapping):
                    raise ConfigError(f"sweep.{dim.fields[0]}", "problem values must be tables")
                build_problem(spec["problem"])
            if any(f.startswith("optimizer") for f in dim.fields):
                if not isinstance(spec["optimizer"], list) or not spec["optimizer"]:
                    raise ConfigError(f"sweep.{dim.fields[0]}", "optimizer values must be "
                                      "non-empty lists of tables")
                for j, o in enumerate(spec["optimizer"]):
                    build("optimizer", o, f"optimizer[{j}]")
            for f in dim.fields:
                if f in RUN_KEYS:
                    parse_study({**{k: v for k, v in spec.items() if k != "theory"},
                                 "theory": spec["theory"] or False, f: spec[f]})


def load_study(path: str | Path, **kwargs: Any) -> Study:
    """Read a study from a TOML file, or the spec recorded in a Dataset written by optdyn
    (``.nc``: ``attrs["spec"]``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("study", f"no such file: {path}")
    if path.suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(path) as ds:
            text = ds.attrs.get("spec")
        if not text:
            raise ConfigError("study", f"{path} records no spec (written by an older optdyn, or "
                              "from objects that have none)")
        return parse_study(json.loads(text), **kwargs)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("study", f"{path} is not valid TOML: {e}") from None
    return parse_study(raw, **kwargs)
