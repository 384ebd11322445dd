"""Limit risks and stability thresholds at a constant learning rate, for any covered optimizer.

- SGD (ODE): R_inf = gamma sigma^2 Tr K / (4B - 2 gamma Tr K), critical gamma = 2B / Tr K
  (Paquette et al. arXiv 2206.07252; docs/theory/signsgd.md section 5.1 in per-step units);
- SGD (exact recursion): R_inf = S sigma^2 / (2(1 - S)) with
  S = sum_j (gamma/B) lambda_j / (2 - gamma lambda_j (1 + 1/B)); critical gamma solves S = 1;
- clipped SGD: R = gamma Tr K nu_bar(R) / (4 B mu(R)) (arXiv 2406.11733); never diverges;
- signSGD: R c(R) = (gamma/4) sum_i sqrt(K_ii) (arXiv 2411.12135); never diverges.
"""

from __future__ import annotations

from typing import Any

from optdyn._core.errors import ConfigError
from optdyn.theory.laws import law_for

__all__ = ["limit_risk", "critical_lr"]


def _law(problem: Any, optimizer: Any, method: str) -> Any:
    law = law_for(optimizer, problem, method)
    if law is None:
        if law_for(optimizer, problem) is None:
            raise ConfigError("optimizer", f"no theory for {type(optimizer).__name__}")
        raise ConfigError("method", f"{method!r} is not available for {type(optimizer).__name__}")
    law.check(problem, optimizer, "optimizer")
    return law


def limit_risk(problem: Any, optimizer: Any, method: str = "ode") -> float:
    """Fixed point of the risk at the optimizer's constant learning rate (inf: diverges)."""
    return _law(problem, optimizer, method).limits(problem, optimizer, method)[0]


def critical_lr(problem: Any, optimizer: Any, method: str = "ode") -> float:
    """Largest constant per-step learning rate with a bounded risk (inf: never diverges)."""
    return _law(problem, optimizer, method).limits(problem, optimizer, method)[1]
