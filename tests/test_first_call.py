"""The first call's machinery: shape buckets, lanes, the persistent compilation cache and kept
programs, lazy imports, the fast exit (docs/speed.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

from optdyn import noise, theory
from optdyn._core.lazy import lazy_module
from optdyn.optimizers import SGD, ClippedSGD, SignSGD
from optdyn.problems import LinearRegression, PowerLawCoefficients, spectra
from optdyn.theory import integrator as I
from optdyn.theory.laws import law_for


def _problem(d: int) -> LinearRegression:
    return LinearRegression(eigenvalues=spectra.power_law(d, 1.0),
                            theta_star=PowerLawCoefficients(beta=0.5), noise=noise.Gaussian(0.2))


def test_buckets_hold_their_size_with_bounded_padding():
    sizes = [I.bucket(n, 64) for n in range(1, 5000)]
    assert all(b >= n and b % 8 == 0 for n, b in enumerate(sizes, start=1))
    assert all(b <= max(64, 1.42 * n + 8) for n, b in enumerate(sizes, start=1))
    assert sizes == sorted(sizes) and len(set(sizes)) < 30  # few compiled programs
    assert I.bucket(400, 64) == I.bucket(500, 64) == 512


def test_lanes_are_powers_of_two_within_the_cache_budget():
    for n_cfg in (1, 3, 8, 100, 256):
        for n_modes in (10, 400, 10_000, 100_000):
            w = I.lanes(n_cfg, n_modes)
            assert w & (w - 1) == 0 and 1 <= w <= max(1, 2 * n_cfg)
            assert w == 1 or w * n_modes <= I._LANE_FLOATS
    assert I.lanes(1, 400) == 1 and I.lanes(256, 10_000) == 8


def _raw(law, problem, opts, ckpts):
    """The jitted integrator on the unpadded modes and grid, all configs in one call."""
    from optdyn.theory.engine import _stack

    modes = law.modes_for(problem, opts[0])
    params = _stack([law.params_with(problem, o, dict(law.options)) for o in opts])
    fn = I._compiled(law.coeff)
    out = fn(params, *(jnp.asarray(x, jnp.float64) for x in (modes.weights, modes.drift,
                                                              modes.loads, modes.v0)),
             jnp.asarray(ckpts, jnp.float64), np.int64(len(ckpts)), *I._scalars(1e-6, 0.0,
                                                                                 10**6, np.inf))
    return np.asarray(out[0]), np.asarray(out[2])


@pytest.mark.parametrize("make", [lambda s: SGD(0.3 * s), lambda s: SignSGD(2e-3 * s),
                                  lambda s: ClippedSGD(0.3 * s, threshold=1.0)],
                         ids=["sgd", "sign", "clip"])
def test_padding_and_chunking_do_not_change_the_curves(make, monkeypatch):
    """Padded modes (zero weight and state), padded checkpoints and configs split over lanes
    (4 per call here) give the curve of the plain call: same steps, risk equal to rounding."""
    monkeypatch.setattr(I, "_LANE_FLOATS", 4 * 384)
    p = _problem(300)  # padded to 384 modes
    opts = [make(s) for s in np.linspace(0.5, 1.5, 11)]
    law = law_for(opts[0], p, "ode")
    ckpts = np.unique(np.round(np.geomspace(1, 5000, 37))).astype(float)
    ckpts = np.concatenate([[0.0], ckpts])
    ref, ref_steps = _raw(law, p, opts, ckpts)
    out = theory.run(p, opts, 5000, at=ckpts.astype(np.int64))
    np.testing.assert_array_equal(out.n_substeps.values, ref_steps)
    np.testing.assert_allclose(out.risk.values, ref, rtol=1e-13, atol=0)


def _python(code: str, env: dict[str, str]) -> str:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout.strip().splitlines()[-1]


_CURVE = """
import json
import jax, numpy as np
hits = []
jax.monitoring.register_event_listener(lambda name, **kw: hits.append(name))
from optdyn import noise, theory
from optdyn._core import programs
from optdyn.optimizers import SignSGD
from optdyn.problems import LinearRegression, PowerLawCoefficients, spectra
p = LinearRegression(eigenvalues=spectra.power_law(333, 1.0),
                     theta_star=PowerLawCoefficients(beta=0.5), noise=noise.Gaussian(0.2))
r = theory.run(p, SignSGD(1e-3), 3000)
d = programs.programs_dir()
print(json.dumps({"risk": r.risk.values.tolist(), "dir": None if d is None else str(d),
                  "programs": sorted(os.listdir(d)) if d and d.exists() else [],
                  "hits": hits.count("/jax/compilation_cache/cache_hits")}))
"""


def test_a_second_process_loads_the_first_ones_program(tmp_path):
    env = {**os.environ, "OPTDYN_COMPILATION_CACHE": str(tmp_path / "jax")}
    first = json.loads(_python("import os\n" + _CURVE, env))
    second = json.loads(_python("import os\n" + _CURVE, env))
    assert first["dir"] == str(tmp_path / "programs")
    assert len(first["programs"]) == 1 and first["programs"] == second["programs"]
    assert first["hits"] == 0 and second["hits"] >= 1  # compiled once, then loaded
    assert first["risk"] == second["risk"]  # bitwise
    off = json.loads(_python("import os\n" + _CURVE,
                             {**os.environ, "OPTDYN_COMPILATION_CACHE": "off"}))
    assert off["dir"] is None and off["hits"] == 0
    np.testing.assert_allclose(off["risk"], first["risk"], rtol=1e-14)


def test_a_stale_or_corrupt_program_is_replaced(tmp_path):
    env = {**os.environ, "OPTDYN_COMPILATION_CACHE": str(tmp_path / "jax")}
    first = json.loads(_python("import os\n" + _CURVE, env))
    (tmp_path / "programs" / first["programs"][0]).write_bytes(b"not a program")
    again = json.loads(_python("import os\n" + _CURVE, env))
    assert again["risk"] == first["risk"]
    assert (tmp_path / "programs" / first["programs"][0]).stat().st_size > 100


def test_heavy_modules_load_on_first_use():
    """``import optdyn.theory`` (and what a first curve imports) executes neither optax nor
    scipy's integrate, optimize or interpolate: they load when called."""
    out = _python("""
        import sys
        from optdyn import theory, noise, optimizers, problems
        lazy = [m for m in ("optax", "scipy.integrate", "scipy.optimize", "scipy.interpolate")
                if m in sys.modules and type(sys.modules[m]).__name__ != "_LazyModule"]
        print(lazy)
    """, dict(os.environ))
    assert out == "[]"


def test_lazy_module_loads_at_first_attribute():
    out = _python("""
        import sys
        from optdyn._core.lazy import lazy_module
        m = lazy_module("colorsys")
        before = type(sys.modules["colorsys"]).__name__
        value = m.rgb_to_hsv(1.0, 0.0, 0.0)
        print(before, type(sys.modules["colorsys"]).__name__, value)
    """, dict(os.environ))
    assert out == "_LazyModule module (0.0, 1.0, 1.0)"
    assert lazy_module("json") is json
    with pytest.raises(ImportError):
        lazy_module("optdyn_no_such_module")


def test_optax_factories_register_at_the_first_lookup():
    from optdyn._core.registry import entries, find

    assert "adamw" in entries("optax")
    assert find("optax", "adamw", "optax") is entries("optax")["adamw"]


def test_the_fast_exit_keeps_exit_status_and_output(tmp_path):
    """The gc.freeze exit hook changes nothing a caller sees: the exit status, buffered
    output and files written and closed by atexit handlers registered later."""
    target = tmp_path / "atexit.txt"
    code = textwrap.dedent(f"""
        import atexit, sys
        import optdyn.theory
        def last():
            with open({str(target)!r}, "w") as f:
                f.write("done")
        atexit.register(last)
        print("buffered", end="")
        sys.exit(3)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 3 and res.stdout == "buffered"
    assert target.read_text() == "done"


def test_kept_programs_are_named_by_the_law_not_the_shared_base_method():
    """Every law inherits Law.coeff; bound to each law class it must give distinct names, and
    functions without a process-independent name (lambdas, closures) are never kept."""
    import functools

    from optdyn._core.programs import function_name
    from optdyn.theory.laws.clipped import ClippedSGDLaw
    from optdyn.theory.laws.sgd import SGDLaw

    a, b = function_name(SGDLaw.coeff), function_name(ClippedSGDLaw.coeff)
    assert a and b and a != b and a.endswith("SGDLaw") and b.endswith("ClippedSGDLaw")

    def closure():
        return None

    for fn in (lambda x: x, closure, functools.partial(print, 1)):
        assert function_name(fn) is None
    assert I._name("integrate", SGDLaw.coeff, closure) is None


def test_the_program_folder_keeps_the_newest(tmp_path, monkeypatch):
    from optdyn._core import programs

    monkeypatch.setattr(programs, "_MAX_FILES", 8)
    for i in range(9):
        f = tmp_path / f"{i}.jaxexport"
        f.write_bytes(b"x")
        os.utime(f, (1000 + i, 1000 + i))
    programs._evict(tmp_path)
    assert sorted(int(f.stem) for f in tmp_path.glob("*.jaxexport")) == [3, 4, 5, 6, 7, 8]


def test_the_cache_command_shows_and_clears_the_folders(tmp_path):
    env = {**os.environ, "OPTDYN_COMPILATION_CACHE": str(tmp_path / "jax")}
    _python("import os\n" + _CURVE, env)
    cmd = [sys.executable, "-m", "optdyn", "cache"]
    shown = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    assert f"traced programs: {tmp_path / 'programs'}  (1 files" in shown.stdout
    cleared = subprocess.run([*cmd, "--clear"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert cleared.returncode == 0 and "(0 files, 0.0 MiB)" in cleared.stdout
    assert not (tmp_path / "programs").exists()
