"""optdyn: exact high-dimensional dynamics of stochastic optimizers.

One problem description gives both the simulated and the theoretical risk curve of an optimizer:

    import optdyn as od
    from optdyn.optimizers import SGD, SignSGD
    from optdyn.problems import LinearRegression, PowerLawCoefficients, spectra

    problem = LinearRegression(eigenvalues=spectra.power_law(200, alpha=0.75),
                               theta_star=PowerLawCoefficients(beta=0.75))
    opts = [SGD(0.2), SignSGD(2e-3)]
    th = od.theory.run(problem, opts, steps=2000)            # deterministic curves, float64
    sim = od.simulate.run(problem, opts, steps=2000, seeds=4)  # the same configs, simulated
    od.plot.save_figure(od.plot.overlay(sim, th), "overlay.png")

Where to look next:

- ``od.problems`` (LinearRegression, MatrixRegression, PowerLawRandomFeatures, ...),
  ``od.optimizers`` (SGD, SignSGD, ClippedSGD, Adam, NormalizedSGD, SignSVD, Muon, optax),
  ``od.noise`` (label-noise laws), ``od.schedules`` (learning-rate schedules);
- ``od.simulate.run`` (the simulation engine), ``od.theory.run`` (the one theory driver;
  ``od.theory.run_available`` gives NaN for configs without a theory);
- ``od.plot`` (figures), ``od.io`` (atomic save/load of results), ``od.study`` and
  ``od.sweep`` (experiments as TOML data, grids over any field, on processes or Dask);
- ``od.analysis`` (clipping criteria, signSGD effects, Muon phases, scaling laws, lr tuning);
- the command line: ``optdyn --help`` (run, demo, reproduce, sweep, phases, spectrum, explore,
  cache).

Importing optdyn enables JAX's float64 support (theory runs in float64); simulations choose their
dtype explicitly (float32 by default). It also turns on JAX's persistent compilation cache in
``~/.cache/optdyn/jax`` (``OPTDYN_COMPILATION_CACHE=off`` or a folder;
``od.set_compilation_cache``), so a second process loads the compiled programs of the first.
Submodules load on first use: ``import optdyn as od; od.problems.LinearRegression`` works
without importing the theory or the figures up front.
Documentation: docs/index.md in the repository.
"""

import importlib

from optdyn._core.jax_setup import configure as _configure
from optdyn._core.jax_setup import set_compilation_cache
from optdyn._version import __version__

_configure()

_SUBMODULES = ("analysis", "cli", "config", "errors", "explore", "grid", "io", "noise",
               "optimizers", "plot", "problems", "reproduce", "rmt", "schedules", "simulate",
               "study", "sweep", "theory")

__all__ = ["__version__", "set_compilation_cache", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"optdyn.{name}")
    raise AttributeError(f"module 'optdyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
