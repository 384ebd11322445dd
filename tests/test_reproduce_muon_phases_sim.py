"""The ``muon-phases-sim`` figure: its drawing and caption on small diagrams of known signs."""

import numpy as np

from optdyn.analysis import phases
from optdyn.reproduce import muon_phases_sim as mps


def test_simulated_phase_figure_from_small_diagrams(tmp_path, monkeypatch):
    """The muon-phases-sim figure's drawing and caption, on two diagrams of known signs."""
    alphas, betas, bs, hs = np.array([1.0, 2.0]), np.array([0.5]), [1, 4], [30, 100, 300]
    # log R_SignSGD - log R_SignSVD at (alpha, beta, B, T): SignSVD everywhere at alpha = 1;
    # at alpha = 2 SignSVD wins only at T = 30 (trade-off over all T, SignSGD over T >= 100)
    lr = np.ones((2, 1, 2, 3))
    lr[1, 0, :, 1:] = -1.0
    risk = np.stack([np.exp(lr), np.ones_like(lr)])

    def small(out, dims=(16, 32)):
        maps = {}
        for d in dims:
            ds = phases._dataset(alphas, betas, bs, hs, risk, 0.01 * risk,
                                 np.zeros(risk.shape, bool), np.ones((2, 1), bool), 0.02, 1.0)
            ds.attrs.update(candidate_lines='{"alpha = 1": "x"}')
            ds.to_netcdf(out / f"muon-phases-sim-d{d}.nc")
            maps[d] = ds
        return maps

    def spots(out):
        ds = phases._dataset(alphas[1:], betas, bs, hs, risk[:, 1:], risk[:, 1:],
                             np.zeros(risk[:, 1:].shape, bool), np.ones((1, 1), bool), 0.02, 1.0)
        ds.attrs.update(d=256)
        ds.to_netcdf(out / "muon-phases-sim-d256-a2-b0.5.nc")
        return {(2.0, 0.5): ds}

    monkeypatch.setattr(mps, "simulated_maps", small)
    monkeypatch.setattr(mps, "spot_points", spots)
    monkeypatch.setattr(mps, "LONG", (100, 300))
    files = mps.muon_phases_sim(tmp_path)
    text = (tmp_path / "muon-phases-sim.md").read_text()
    over = [x for x in text.splitlines() if x.startswith("Over ")]
    assert "32: {'SignSGD-favoured': 0, 'trade-off': 1, 'SignSVD-favoured': 1}" in over[0]
    assert "32: {'SignSGD-favoured': 1, 'trade-off': 0, 'SignSVD-favoured': 1}" in over[1]
    assert "on 2 of 2 points" in over[0]
    assert "| 2 | +0 / -1 |" in text and "| 1 | +1 / +1 |" in text
    assert "| 2 | 0.5 | 256 | +0 / -1 | -1 / -1 | -1.00 -1.00; -1.00 -1.00 |" in text
    assert all(f.stat().st_size > 0 for f in files) and len(files) == 5
