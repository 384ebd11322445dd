"""``optdyn scaling``: one PLRF point's compute-optimal frontier, exponents and figure."""

import math

import numpy as np
import pytest
import xarray as xr

from optdyn.analysis.plrf_phases import phase_exponents
from optdyn.cli import main
from optdyn.cli.scaling import model_sizes


def test_model_sizes_double_from_d_min_to_d_max():
    assert model_sizes(100, 25600) == [100 * 2**k for k in range(9)]
    sizes = model_sizes(100, 1000)
    assert sizes[0] == 100 and sizes[-1] == 1000 and len(sizes) == 5
    assert np.all(np.diff(np.log(sizes)) < math.log(2) + 1e-9)


@pytest.mark.parametrize(("argv", "field"), [
    (["--optimizer", "signsgd", "--spectrum", "equivalent"], "spectrum"),
    (["--d-max", "200000"], "d_max"),
    (["--spectrum", "sampled", "--d-max", "10000"], "d_max"),
    (["--d-min", "100", "--d-max", "300"], "d_max"),
    (["--steps-max", "10"], "steps_max"),
])
def test_bad_input_names_its_field(argv, field, capsys, tmp_path):
    code = main(["scaling", "--alpha", "1", "--beta", "0.75", *argv, "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"optdyn: error: {field}")
    assert not list(tmp_path.iterdir())  # nothing written


def test_infinite_loss_point_is_refused(capsys, tmp_path):
    assert main(["scaling", "--alpha", "0.2", "--beta", "0.1", "--d-max", "400",
                 "--out", str(tmp_path)]) == 2
    assert "beta" in capsys.readouterr().err


@pytest.mark.parametrize(("optimizer", "schedule", "spectrum"), [
    ("sgd", "constant", "equivalent"),
    ("signsgd", "wsd", "sampled"),
])
def test_writes_the_dataset_and_the_figure(optimizer, schedule, spectrum, tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["scaling", "--alpha", "1", "--beta", "0.75", "--optimizer", optimizer,
                 "--schedule", schedule, "--d-min", "32", "--d-max", "128", "--steps-max",
                 "1024", "--no-progress", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "loss slope" in printed and "phase II" in printed
    assert (out / "scaling.png").stat().st_size > 10_000
    ds = xr.load_dataset(out / "scaling.nc")
    for name in ("slope", "slope_se", "d_star_slope", "predicted_slope", "frontier_loss",
                 "frontier_d", "slope_by_d_max"):
        assert name in ds, name
    assert ds.attrs["spectrum"] == spectrum
    assert list(ds["d"].values) == [32, 64, 128]
    assert float(ds["predicted_slope"]) == pytest.approx(-phase_exponents(1.0, 0.75).eta)
    x = ds.isel(optimizer=0, schedule=0)
    assert math.isfinite(float(x["slope"])) and float(x["slope"]) < 0
    assert float(x["slope_se"]) > 0
    # the frontier is the lower envelope of the per-size curves, and falls with compute
    fl = x["frontier_loss"].values
    fin = np.isfinite(fl)
    assert np.all(np.diff(fl[fin]) < 0)
    # the last trend entry is the fit on every size
    assert float(x["slope_by_d_max"][-1]) == pytest.approx(float(x["slope"]))
