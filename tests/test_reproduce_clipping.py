"""`optdyn reproduce` figures of the clipping paper: files, captions, measured numbers."""

import re

import pytest
import xarray as xr

from optdyn import reproduce


def test_clipping_figures_are_registered():
    names = reproduce.names()
    for n in ("clip-fig1", "clip-ccc", "clip-schedules", "clip-realdata"):
        assert n in names


def test_clip_ccc(tmp_path):
    files = reproduce.run("clip-ccc", tmp_path)
    assert {f.name for f in files} == {"clip-ccc.png", "clip-ccc.nc", "clip-ccc.md"}
    ds = xr.open_dataset(tmp_path / "clip-ccc.nc")
    assert float(ds.ccc.sel(law="Gaussian").max()) <= 1.0
    assert float(ds.ccc.sel(law="sparse Rademacher q=0.2").max()) > 2.0
    cap = (tmp_path / "clip-ccc.md").read_text()
    mc = float(re.search(r"max relative difference ([\d.]+)%", cap).group(1))
    assert mc < 3.0


@pytest.mark.slow
def test_clip_fig1_and_schedules(tmp_path):
    reproduce.run("clip-fig1", tmp_path)
    cap = (tmp_path / "clip-fig1.md").read_text()
    assert float(re.search(r"against its ODE: ([\d.]+)%", cap).group(1)) < 5.0
    reproduce.run("clip-schedules", tmp_path)
    cap = (tmp_path / "clip-schedules.md").read_text()
    errs = [float(x) for x in re.findall(r"(?:max-CCC|heuristic|unclipped) ([\d.]+)%", cap)]
    assert len(errs) == 6 and max(errs) < 5.0


@pytest.mark.slow
def test_clip_realdata(tmp_path):
    reproduce.run("clip-realdata", tmp_path)
    for name in ("digits", "breast_cancer"):
        ds = xr.open_dataset(tmp_path / f"clip-realdata-{name}.nc")
        assert 1.0 < ds.attrs["intrinsic_dimension"] < 50
        assert ds.attrs["mre_clipped_mixture"] < 0.10
