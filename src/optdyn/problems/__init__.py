"""Solvable models: sampling, exact population risk and the inputs the theory needs."""

from optdyn.problems import spectra, targets
from optdyn.problems.conjugate_kernel import conjugate_kernel_problem, random_features_problem
from optdyn.problems.data import DataRegression, load_features, sklearn_dataset
from optdyn.problems.linear_regression import LinearRegression
from optdyn.problems.matrix_regression import MatrixRegression
from optdyn.problems.memory import AssociativeMemory
from optdyn.problems.plrf import PowerLawRandomFeatures, ReducedPLRF
from optdyn.problems.spectral_measure import SpectralMeasure, plrf_equivalent
from optdyn.problems.targets import PowerLawCoefficients, RandomVector, Zeros

__all__ = [
    "AssociativeMemory",
    "DataRegression",
    "LinearRegression",
    "MatrixRegression",
    "PowerLawCoefficients",
    "PowerLawRandomFeatures",
    "RandomVector",
    "ReducedPLRF",
    "SpectralMeasure",
    "Zeros",
    "conjugate_kernel_problem",
    "load_features",
    "plrf_equivalent",
    "random_features_problem",
    "sklearn_dataset",
    "spectra",
    "targets",
]
