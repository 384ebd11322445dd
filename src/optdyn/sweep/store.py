"""The store of a sweep: one folder, one labelled Dataset when opened.

Layout::

    STORE/study.json         the study (its spec and grid), its hash, the optdyn version, the
                             batch plan (points and content address of every batch)
    STORE/batches/HASH.nc    one finished batch (written atomically by optdyn.io.save)
    STORE/failed/HASH.json   a batch that failed twice: its error and traceback
    STORE/log.jsonl          one line per event (start with the number of cached batches, done,
                             retry, failed, pool-broken, end), with the run that wrote it: how
                             many times each batch was computed

A store belongs to one study: opening it for another spec is refused, naming what differs.
:meth:`Store.dataset` gives one ``xarray.Dataset`` with the swept fields as dimensions.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from optdyn import io
from optdyn._core.errors import ConfigError
from optdyn._core.files import write_atomic
from optdyn._version import __version__
from optdyn.study import Study, parse_study
from optdyn.sweep.plan import Batch

__all__ = ["Store"]


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [x for i, (u, v) in enumerate(zip(a, b, strict=True))
                for x in _differences(u, v, f"{path}[{i}]")]
    return [] if a == b else [path or "(root)"]


def _unstack(ds: xr.Dataset, study: Study) -> xr.Dataset:
    """The ``point`` dimension as the grid's dimensions (C order)."""
    dims, shape = study.grid.dims, study.grid.shape
    names = tuple(d.name for d in dims)
    data = {}
    for name, var in ds.variables.items():
        if "point" not in var.dims or name == "point":
            continue
        rest = tuple(d for d in var.dims if d != "point")
        arr = var.transpose("point", *rest).values
        data[name] = (names + rest, arr.reshape(shape + arr.shape[1:]), var.attrs)
    coords: dict[str, Any] = {k: v for k, v in ds.coords.items() if "point" not in v.dims}
    for dim in dims:
        case = dim.name == "case"
        coords[dim.name] = (dim.name, np.arange(dim.size) if case else dim.coordinate(0))
        for j, f in enumerate(dim.fields):
            if j or case:
                coords[f] = (dim.name, dim.coordinate(j))
    coord_names = {k for k in data if k in ds.coords}
    out = xr.Dataset({k: v for k, v in data.items() if k not in coord_names}, coords=coords)
    return out.assign_coords({k: data[k] for k in coord_names}).assign_attrs(ds.attrs)


class Store:
    """A sweep's folder (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------------------- the manifest
    @property
    def manifest_path(self) -> Path:
        return self.path / "study.json"

    def exists(self) -> bool:
        """Whether the folder holds a sweep."""
        return self.manifest_path.is_file()

    def manifest(self) -> dict[str, Any]:
        """The parsed ``study.json``."""
        if not self.exists():
            raise ConfigError("store", f"{self.path} holds no sweep (no study.json)")
        return json.loads(self.manifest_path.read_text())

    def study(self) -> Study:
        """The study the store was written for."""
        return parse_study(self.manifest()["study"], max_points=None)

    def batches(self) -> list[Batch]:
        """The batch plan recorded in the manifest (specs are rebuilt from the study)."""
        study = self.study()
        return [Batch(tuple(b["points"]), tuple(study.point_spec(p) for p in b["points"]),
                      b["hash"]) for b in self.manifest()["batches"]]

    def open_for(self, study: Study, batches: list[Batch], points_per_batch: int,
                 resume: bool) -> None:
        """Create the store for ``study``, or check that an existing one holds it."""
        if self.exists():
            old = self.manifest()
            if old["hash"] != study.hash:
                diff = _differences(old["study"], study.document())
                what = ", ".join(diff[:6]) or ("the optdyn version" if old["optdyn_version"]
                                              != __version__ else "the order of the sweep's "
                                              "dimensions")
                raise ConfigError("store", f"{self.path} was written by another spec (study "
                                  f"{old['study'].get('name')!r}, hash {old['hash']}); it "
                                  f"differs in {what}{' ...' if len(diff) > 6 else ''}: "
                                  "choose another store")
            if not resume:
                raise ConfigError("store", f"{self.path} already holds this sweep: pass "
                                  "--resume (resume=True) to finish it, or choose another store")
            if [b["hash"] for b in old["batches"]] != [b.hash for b in batches]:
                raise ConfigError("points_per_batch", f"{self.path} was cut into batches of "
                                  f"{old['points_per_batch']} points; resume with that size")
            return
        (self.path / "batches").mkdir(parents=True, exist_ok=True)
        (self.path / "failed").mkdir(exist_ok=True)
        manifest = {"study": study.document(), "hash": study.hash,
                    "optdyn_version": __version__, "points_per_batch": points_per_batch,
                    "n_points": study.grid.size,
                    "batches": [{"hash": b.hash, "points": list(b.points)} for b in batches]}
        write_atomic(self.manifest_path, json.dumps(manifest))

    # ------------------------------------------------------------------------------ batches
    def batch_path(self, h: str) -> Path:
        return self.path / "batches" / f"{h}.nc"

    def done(self) -> set[str]:
        """Hashes of the finished batches."""
        folder = self.path / "batches"
        return {p.stem for p in folder.glob("*.nc")} if folder.is_dir() else set()

    def failed(self) -> dict[str, dict[str, Any]]:
        """Failed batches: hash -> record (error, traceback, points)."""
        folder = self.path / "failed"
        done = self.done()
        return {p.stem: json.loads(p.read_text())
                for p in (sorted(folder.glob("*.json")) if folder.is_dir() else [])
                if p.stem not in done}

    def write(self, batch: Batch, ds: xr.Dataset, run: str) -> None:
        """Keep a finished batch (atomically) and log it."""
        ds = ds.assign_attrs(batch_hash=batch.hash, run=run, optdyn_version=__version__)
        io.save(ds, self.batch_path(batch.hash), small=True)
        (self.path / "failed" / f"{batch.hash}.json").unlink(missing_ok=True)
        self.log({"event": "done", "batch": batch.hash, "run": run,
                  "elapsed_s": float(ds.attrs.get("elapsed_s", np.nan))})

    def fail(self, batch: Batch, error: str, trace: str, run: str) -> None:
        """Record a batch that failed for good."""
        rec = {"points": list(batch.points), "error": error, "traceback": trace, "run": run}
        write_atomic(self.path / "failed" / f"{batch.hash}.json", json.dumps(rec, indent=1))
        self.log({"event": "failed", "batch": batch.hash, "run": run, "error": error})

    def log(self, event: dict[str, Any]) -> None:
        """Append one event to ``log.jsonl``."""
        line = json.dumps({"time": time.time(), **event})
        with open(self.path / "log.jsonl", "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def events(self) -> list[dict[str, Any]]:
        """Every event logged (a line cut by a killed process is skipped)."""
        path = self.path / "log.jsonl"
        out = []
        for line in path.read_text().splitlines() if path.is_file() else []:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def computed(self) -> dict[str, int]:
        """How many times each batch was computed (``done`` events per hash)."""
        out: dict[str, int] = {}
        for e in self.events():
            if e.get("event") == "done":
                out[e["batch"]] = out.get(e["batch"], 0) + 1
        return out

    def status(self) -> dict[str, Any]:
        """Counts of batches and points: total, done, failed, missing."""
        man = self.manifest()
        done, failed = self.done(), self.failed()
        hashes = [b["hash"] for b in man["batches"]]
        n_pts = {b["hash"]: len(b["points"]) for b in man["batches"]}
        return {"store": str(self.path), "study": man["study"].get("name"),
                "optdyn_version": man["optdyn_version"], "batches": len(hashes),
                "done": sum(h in done for h in hashes), "failed": len(failed),
                "missing": sum(h not in done and h not in failed for h in hashes),
                "points": man["n_points"], "points_done": sum(n_pts[h] for h in hashes
                                                              if h in done),
                "errors": {h: r["error"] for h, r in failed.items()}}

    # ----------------------------------------------------------------------------- the data
    def dataset(self) -> xr.Dataset:
        """All finished batches as one Dataset: the swept fields as dimensions (a zipped
        dimension carries its other fields as coordinates), then ``config``, ``seed`` and
        ``step``; missing or failed points are NaN and ``done`` is False there."""
        man = self.manifest()
        study = self.study()
        parts = [io.load(self.batch_path(b["hash"])) for b in man["batches"]
                 if self.batch_path(b["hash"]).is_file()]
        n = study.grid.size
        if parts:
            ds = xr.concat(parts, dim="point", data_vars="minimal", coords="minimal",
                           compat="override", join="outer", combine_attrs="drop")
            ds = ds.sortby("point")
        else:  # every batch failed (or none ran yet): only `done`
            ds = xr.Dataset(coords={"point": np.arange(n)})
        got = np.concatenate([p["point"].values for p in parts]) if parts else []
        done = xr.DataArray(np.isin(np.arange(n), got), dims="point")
        ds = ds.reindex(point=np.arange(n))
        ds["done"] = done.assign_coords(point=np.arange(n))
        ds = _unstack(ds, study) if study.grid.dims else ds.isel(point=0, drop=True)
        ds.attrs.update(kind="sweep", study=json.dumps(man["study"]), study_hash=man["hash"],
                        optdyn_version=man["optdyn_version"], store=str(self.path),
                        spec=json.dumps(man["study"]))
        return ds
