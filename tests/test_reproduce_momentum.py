"""``optdyn reproduce momentum`` builds its figure, data and caption (about 25 s)."""

import re

from optdyn import io, reproduce


def test_momentum_figure(tmp_path):
    files = reproduce.run("momentum", tmp_path, progress=False)
    names = {f.name for f in files}
    assert {"momentum.png", "momentum.md", "momentum-curves.nc", "momentum-critical.nc",
            "momentum-frontiers.nc"} <= names
    assert (tmp_path / "momentum.png").stat().st_size > 30_000
    caption = (tmp_path / "momentum.md").read_text()
    errors = [float(x) for x in re.findall(r"\) (\d+\.\d+)%", caption)]
    assert len(errors) == 4 and max(errors) < 2.0
    crit = io.load(tmp_path / "momentum-critical.nc")
    assert set(crit.data_vars) == {"heavy_ball_torch", "Nesterov_torch", "heavy_ball_EMA"}
    fr = io.load(tmp_path / "momentum-frontiers.nc")
    assert float(fr.slope.sel(optimizer="dana")) < float(fr.slope.sel(optimizer="sgd"))
