"""The package layout: lazy submodules, ``python -m optdyn``, old import paths that warn once."""

import importlib
import subprocess
import sys
import warnings

import pytest

import optdyn as od

MOVED = {
    "optdyn.theory.clipping": "optdyn.analysis.clipping",
    "optdyn.theory.signsgd": "optdyn.analysis.signsgd",
    "optdyn.theory.memory": "optdyn.analysis.memory",
    "optdyn.theory.phases": "optdyn.analysis.phases",
    "optdyn.theory.phases_cli": "optdyn.cli.phases",
    "optdyn.rmt.cli": "optdyn.cli.spectrum",
    "optdyn.rmt.dynamics": "optdyn.problems.conjugate_kernel",
    "optdyn.results": "optdyn._core.results",
    "optdyn._pytree": "optdyn._core.pytree",
    "optdyn.simulate.grid": "optdyn._core.grid",
    "optdyn.noise_fit": "optdyn.noise.fit",
    "optdyn.theory.adam_conjecture": "optdyn.analysis.adam",
}


def test_submodules_load_on_first_use():
    assert od.problems.LinearRegression.__name__ == "LinearRegression"
    assert callable(od.theory.run)
    assert od.rmt.ConjugateKernel.__name__ == "ConjugateKernel"
    assert "problems" in dir(od)
    with pytest.raises(AttributeError, match="no_such_module"):
        od.no_such_module  # noqa: B018


def test_import_optdyn_is_light():
    code = ("import sys, optdyn; heavy = [m for m in ('optdyn.theory', 'optdyn.simulate', "
            "'optdyn.plot', 'matplotlib', 'scipy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m_version():
    out = subprocess.run([sys.executable, "-m", "optdyn", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"optdyn {od.__version__}"


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_moved_module_is_the_new_one_and_warns_once(old, new):
    code = (f"import warnings; warnings.simplefilter('always')\n"
            f"with warnings.catch_warnings(record=True) as w:\n"
            f"    import {old}\n    import {old}\n"
            f"import {new}, sys\n"
            f"assert sys.modules['{old}'] is sys.modules['{new}']\n"
            f"moved = [x for x in w if issubclass(x.category, FutureWarning)]\n"
            f"print(len(moved), '{new}' in str(moved[0].message))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "True"]


def test_fits_moved_out_of_scaling_warn_once():
    import optdyn._core.deprecation as dep
    from optdyn.analysis import fits, scaling

    dep._warned.discard("optdyn.analysis.scaling.fit_power_law")
    with pytest.warns(FutureWarning, match="optdyn.analysis.fits.fit_power_law"):
        assert scaling.fit_power_law is fits.fit_power_law


def test_moved_attribute_warns_and_resolves():
    new = importlib.import_module("optdyn.problems.conjugate_kernel")
    rmt = importlib.import_module("optdyn.rmt")
    import optdyn._core.deprecation as dep

    dep._warned.discard("optdyn.rmt.conjugate_kernel_problem")  # warned once per process
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        f = rmt.conjugate_kernel_problem
        again = rmt.conjugate_kernel_problem
    assert f is again is new.conjugate_kernel_problem
    assert od.problems.conjugate_kernel_problem is f
    assert len(w) == 1 and issubclass(w[0].category, FutureWarning)
    assert "optdyn.problems.conjugate_kernel" in str(w[0].message)


@pytest.mark.parametrize("where,line", [
    ("theory/result.py", "import optdyn.simulate  # noqa"),
    ("analysis/compare.py", "from optdyn.theory import integrator  # noqa"),
])
def test_the_import_contract_catches_a_violation(tmp_path, where, line):
    """lint-imports passes on the package and fails on a copy that theory -> simulate (layers) or
    a study -> the integrator (forbidden) would break."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    shutil.copytree(root / "src" / "optdyn", tmp_path / "optdyn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}

    def lint() -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), "--config", str(tmp_path / "pyproject.toml")],
                              cwd=tmp_path, env=env, capture_output=True, text=True)

    assert lint().returncode == 0
    target = tmp_path / "optdyn" / where
    target.write_text(target.read_text() + "\n" + line + "\n")
    bad = lint()
    assert bad.returncode != 0 and "BROKEN" in bad.stdout
