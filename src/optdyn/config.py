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
    eigenvalues = { kind = "power_law", d = 500, alpha = 0.75 }   # isotropic | power_law
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

Without ``[output] dir`` the results go to ``runs/NAME/``: NAME is the file's ``name`` when it
gives one, else the file's name without its extension (``optdyn run sweep1.toml`` writes
``runs/sweep1/``). ``optdyn run --out DIR`` overrides both.

Every error names the offending field, e.g. ``optimizer[1].lr: must be finite and >= 0``, and a
misspelled key comes with the closest valid name. An experiment is a study
(:mod:`optdyn.study`) without a grid: any problem, optimizer or theory method a study can name,
an experiment can too; a file with a ``[sweep]`` table runs with ``optdyn sweep``.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

from optdyn._core.errors import ConfigError
from optdyn.study import Study, load_study, parse_study, point_objects

__all__ = ["Experiment", "experiment_from_study", "load_experiment", "named_after_file",
           "parse_experiment"]


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A parsed experiment: what :func:`optdyn.simulate.run` needs, plus the outputs."""

    name: str
    problem: Any
    optimizers: list[Any]
    steps: int
    seeds: Any
    points_per_decade: int
    dtype: str
    output_dir: Path
    figure: bool
    raw: dict[str, Any]
    theory: str | None = None
    theory_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    simulate: bool = True
    study: Study | None = None


def experiment_from_study(study: Study) -> Experiment:
    """The single run of a study without a grid."""
    if study.grid.dims:
        raise ConfigError("sweep", f"this study is a grid of {study.grid.size} points; run it "
                          "with 'optdyn sweep FILE' (or optdyn.sweep.run), or remove its "
                          "[sweep] table")
    spec = study.spec
    problem, opts = point_objects(spec)
    theory = dict(spec["theory"] or {})
    method = theory.pop("method", None)
    out_dir = Path(study.output.get("dir", f"runs/{study.name}"))
    return Experiment(name=study.name, problem=problem, optimizers=opts, steps=spec["steps"],
                      seeds=spec["seeds"], points_per_decade=spec["points_per_decade"],
                      dtype=spec["dtype"], output_dir=out_dir,
                      figure=bool(study.output.get("figure", True)), raw=study.document(),
                      theory=method, theory_options=theory, simulate=spec["simulate"],
                      study=study)


def parse_experiment(raw: dict[str, Any], base_dir: Path | None = None) -> Experiment:
    """Validate a parsed TOML document and build the experiment."""
    return experiment_from_study(parse_study(raw))


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment TOML file (or the spec recorded in a ``.nc``).

    A file without a ``name`` is named after the file (:func:`named_after_file`), so without
    ``[output] dir`` it writes to ``runs/<file stem>/``.
    """
    return experiment_from_study(named_after_file(load_study(path), path))


def named_after_file(study: Study, path: str | Path) -> Study:
    """``study`` (read from ``path``) with the file's stem as its name when the file gives
    none: ``sweep1.toml`` names its study ``sweep1``, so its default output folder is
    ``runs/sweep1/``. A file that gives a ``name`` keeps it."""
    path = Path(path)
    try:
        if path.suffix == ".nc":
            import xarray as xr

            with xr.open_dataset(path) as ds:
                named = "name" in json.loads(ds.attrs.get("spec") or "{}")
        else:
            named = "name" in tomllib.loads(path.read_text())
    except (OSError, ValueError):  # load_study read it: a race with an edit of the file
        named = True
    return study if named else dataclasses.replace(study, name=path.stem)
