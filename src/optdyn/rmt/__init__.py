"""Random-matrix spectra of random networks: conjugate kernels M = (1/m) Y Y^T, Y = f(WX/sqrt n0).

* :class:`ConjugateKernel` (one layer; Benigni & Peche, EJP 26 (2021); Pennington & Worah,
  NeurIPS 2017) and :class:`MultiLayerConjugateKernel`: limiting density, CDF, atom, support
  edges, quantiles, and (one layer) the largest eigenvalue with the spikes of Benigni & Peche,
  arXiv 2201.04753 (as reconstructed in docs/theory/rmt.md section 7.2).
* :class:`PLRFSpectrum`: the deterministic-equivalent spectrum of power-law random features
  K_f = W^T Lambda W and their capacity floor, without sampling W (docs/theory/plrf.md).
* :func:`gaussian_constants`: theta1, theta2, c2 of an activation by adaptive quadrature.
* Empirical counterparts: :func:`sample_eigenvalues`, :func:`sample_multilayer_eigenvalues`,
  :func:`kolmogorov_distance`.
* The link to the dynamics lives in :mod:`optdyn.problems.conjugate_kernel`
  (``conjugate_kernel_problem``, ``random_features_problem``); the old names here warn once.
"""

from optdyn.rmt.activation import ACTIVATIONS, Activation, GaussianConstants, gaussian_constants
from optdyn.rmt.empirical import (
    EntryLaw,
    conjugate_kernel,
    entry_law,
    kolmogorov_distance,
    sample_eigenvalues,
    sample_multilayer_eigenvalues,
)
from optdyn.rmt.largest import SpikePrediction
from optdyn.rmt.law import ConjugateKernel, SpectralLaw
from optdyn.rmt.multilayer import MultiLayerConjugateKernel
from optdyn.rmt.plrf import PLRFSpectrum
from optdyn.rmt.quartic import (
    marchenko_pastur_density,
    marchenko_pastur_stieltjes,
    product_wishart_density,
)

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ConjugateKernel",
    "EntryLaw",
    "GaussianConstants",
    "MultiLayerConjugateKernel",
    "PLRFSpectrum",
    "SpectralLaw",
    "SpikePrediction",
    "conjugate_kernel",
    "entry_law",
    "gaussian_constants",
    "kolmogorov_distance",
    "marchenko_pastur_density",
    "marchenko_pastur_stieltjes",
    "product_wishart_density",
    "sample_eigenvalues",
    "sample_multilayer_eigenvalues",
]


_MOVED = {"conjugate_kernel_problem": "optdyn.problems.conjugate_kernel",
          "random_features_problem": "optdyn.problems.conjugate_kernel"}


def __getattr__(name: str):
    if name in _MOVED:
        from optdyn._core.deprecation import moved_attribute

        return moved_attribute(__name__, name, _MOVED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
