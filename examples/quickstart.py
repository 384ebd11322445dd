"""Quickstart: SGD at two rates, signSGD and Adam on a rotated power-law problem (d = 500) with
Student-t label noise, 8 seeds, 20 000 steps: the simulated risk curves (mean and 10-90% band).

Run with `.venv/bin/python examples/quickstart.py`; writes quickstart.png and quickstart.nc and
prints the final mean risks. About 11 s on 2 cores, most of it compilation.
"""

from optdyn import io, noise, plot, simulate
from optdyn.optimizers import SGD, Adam, SignSGD
from optdyn.problems import LinearRegression, PowerLawCoefficients, spectra

problem = LinearRegression(
    eigenvalues=spectra.power_law(500, alpha=0.75),  # lambda_j = j^(-2 alpha)
    basis="haar",  # K = U diag(lambda) U^T with a Haar-random U (seed: basis_seed=0)
    theta_star=PowerLawCoefficients(beta=0.75),  # theta* = U (j^(-beta))_j
    noise=noise.StudentT(df=3.0, scale=0.1),
)
print(f"d = {problem.d}, Tr K = {problem.trace:.2f}, R0 = {problem.initial_risk:.3f}")
ds = simulate.run(
    problem, [SGD(0.1), SGD(0.4), SignSGD(2e-3), Adam(2e-3)], steps=20_000, seeds=8
)
print(ds.risk.mean("seed").isel(step=-1).to_series())
plot.save_figure(plot.risk_curves(ds, title="quickstart"), "quickstart.png")
io.save(ds, "quickstart.nc")
