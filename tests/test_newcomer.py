"""The newcomer's cases (issue "The newcomer's path"): theory where it exists and NaN where it
does not, warnings for settings that run but mislead, labels that show what matters, progress
off a terminal, the mean-field recursion's compiled code reused, and a starting point in
``help(optdyn)``."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

import optdyn
from optdyn import simulate, theory
from optdyn._core.progress import Progress
from optdyn._core.traps import TrapWarning, quiet_traps
from optdyn.optimizers import SGD, Muon, NormalizedSGD, SignSGD, SignSVD
from optdyn.problems import LinearRegression, MatrixRegression, PowerLawCoefficients, spectra


def _problem(d: int = 40) -> LinearRegression:
    return LinearRegression(eigenvalues=spectra.power_law(d, alpha=0.75),
                            theta_star=PowerLawCoefficients(beta=0.5))


def test_help_optdyn_starts_with_a_snippet_that_runs(tmp_path, monkeypatch):
    doc = optdyn.__doc__
    for name in ("od.theory.run", "od.simulate.run", "od.plot", "optdyn --help"):
        assert name in doc
    block = re.search(r"\n\n((?:    .*\n|\n)+)", doc).group(1)
    code = "\n".join(line[4:] for line in block.splitlines())
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "optdyn.__doc__", "exec"), {})  # noqa: S102 - our own docstring
    assert (tmp_path / "overlay.png").stat().st_size > 10_000


def test_run_available_gives_nan_and_a_flag_and_says_once_why():
    p = _problem()
    opts = [SGD(0.1), NormalizedSGD(0.1), SignSGD(1e-3)]
    with pytest.warns(UserWarning) as rec:
        th = theory.run_available(p, opts, 200)
    said = [str(w.message) for w in rec if "no ode theory" in str(w.message)]
    assert len(said) == 1 and "NormalizedSGD on LinearRegression" in said[0]
    assert "1 of 3 configs" in said[0]
    assert th.has_theory.values.tolist() == [True, False, True]
    assert np.isnan(th.risk.values[1]).all()
    assert np.isfinite(th.risk.values[[0, 2]]).all()
    assert list(json.loads(th.attrs["no_theory"])) == ["NormalizedSGD(lr=0.1)"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theory.run_available(p, opts, 200, warn=False)


def test_zero_initial_risk_warns_with_the_number_and_still_integrates():
    with pytest.warns(TrapWarning, match=r"R0 = 0 .*stays 0 at every step"):
        p = LinearRegression(eigenvalues=[1.0, 0.5])
    with pytest.warns(TrapWarning, match="noise floor"):
        LinearRegression(eigenvalues=[1.0, 0.5], noise=optdyn.noise.Gaussian(0.1))
    with pytest.warns(TrapWarning, match="R0 = 0"):
        MatrixRegression(4, 3)
    # the integrator keeps an identically zero state (no failed error control, no NaN)
    th = theory.run(p, SGD(0.1), 100)
    assert np.all(th.risk.values == 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrapWarning)
        _problem()  # a problem with a target says nothing


def test_a_learning_rate_above_the_critical_one_warns_even_before_it_diverges():
    p = _problem(50)
    crit = float(theory.critical_lr(p, SGD(0.1)))
    with pytest.warns(TrapWarning, match=rf"lr = {1.05 * crit:.6g} is above the critical lr "
                      rf"{crit:.6g}"):
        th = theory.run(p, SGD(1.05 * crit), 100)
    assert not bool(th.diverged)


def test_a_horizon_that_ends_in_the_transient_warns_once_naming_the_configs():
    p = _problem(50)
    with pytest.warns(TrapWarning) as rec:
        theory.run(p, [SGD(1e-5), SGD(2e-5), SGD(0.2)], 50)
    said = [str(w.message) for w in rec if "transient" in str(w.message)]
    assert len(said) == 1
    assert "SGD(lr=1e-05), SGD(lr=2e-05)" in said[0] and "% of R0 =" in said[0]
    assert "SGD(lr=0.2)" not in said[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrapWarning)
        theory.run(p, SGD(0.2), 2000)  # a sensible run says nothing
        with quiet_traps():
            theory.run(p, SGD(1e-5), 50)


def test_muon_labels_show_its_momentum_and_newton_schulz_settings():
    assert "beta=0.95" in Muon(0.02, batch_size=16).label()
    assert "ns_steps=5" in Muon(0.02).label() and "convention=torch" in Muon(0.02).label()
    assert SGD(0.1).label() == "SGD(lr=0.1)"


def test_progress_prints_lines_off_a_terminal(capsys):
    with Progress("work", every_s=0.0, unit="steps") as bar:
        key = bar.task("SGD", 10)
        bar.update(key, 5)
        bar.update(key, 10)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("work: SGD 5/10 steps (50%)") and "left" in lines[0]
    assert lines[-1].startswith("work: SGD 10/10 steps (100%)")
    with Progress("work", enabled=False, every_s=0.0) as bar:
        bar.update(bar.task("x", 3), 3)
    assert capsys.readouterr().err == ""


def test_a_short_simulation_prints_nothing_off_a_terminal(capsys):
    simulate.run(_problem(), SGD(0.1), 200, seeds=2)
    assert capsys.readouterr().err == ""


def test_the_mean_field_recursion_reuses_its_compiled_code(capsys):
    from optdyn.theory import mean_field

    a = MatrixRegression.power_law(8, 16, alpha=0.75, beta=0.25, sigma=0.1)
    b = MatrixRegression.power_law(8, 16, alpha=1.0, beta=0.5, sigma=0.2)
    opt = SignSVD(0.02, batch_size=4)
    theory.run(a, opt, 40, "mean-field", n_mc=2)
    fn = mean_field._compiled_chunk(*_key(b, opt))
    before = fn._cache_size()
    th = theory.run(b, SignSVD(0.01, batch_size=4), 50, "mean-field", n_mc=2, progress=True)
    assert fn._cache_size() == before  # another problem, lr and horizon: no new compilation
    assert np.isfinite(th.risk.values).all()


def _key(problem, opt):
    from optdyn._core.pytree import Representative

    return ("mc", problem.engine_key(), Representative(problem), opt.batch_size, 2)


def test_a_heartbeat_reports_work_whose_steps_are_not_counted(capsys):
    import time

    from optdyn._core.progress import heartbeat

    with heartbeat("reproduce", "fig", every_s=0.05):
        time.sleep(0.18)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) >= 2 and all(x.startswith("reproduce: fig running, ") for x in lines)
    with heartbeat("reproduce", "fig", enabled=False, every_s=0.01):
        time.sleep(0.05)
    assert capsys.readouterr().err == ""


def test_optdyn_run_with_one_config_without_theory_writes_the_figure_and_the_others(
        tmp_path, capsys):
    from optdyn import io
    from optdyn.cli import main

    exp = tmp_path / "mixed.toml"
    exp.write_text('steps = 300\nseeds = 2\ntheory = true\n[problem]\n'
                   'eigenvalues = { kind = "power_law", d = 40, alpha = 0.75 }\n'
                   'theta_star = { kind = "power_law", beta = 0.5 }\n'
                   '[[optimizer]]\nkind = "sgd"\nlr = 0.1\n'
                   '[[optimizer]]\nkind = "normalized_sgd"\nlr = 0.1\n')
    out = tmp_path / "out"
    assert main(["run", str(exp), "--out", str(out), "--no-progress"]) == 0
    said = capsys.readouterr()
    assert "no theory for NormalizedSGD(lr=0.1)" in said.out
    assert "no ode theory for" not in said.err  # said once, by the command, not twice
    th = io.load(out / "theory.nc")
    assert th.has_theory.values.tolist() == [True, False]
    assert np.isfinite(th.risk.values[0]).all() and np.isnan(th.risk.values[1]).all()
    assert (out / "risk.png").stat().st_size > 10_000
