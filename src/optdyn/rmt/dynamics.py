"""Moved to :mod:`optdyn.problems.conjugate_kernel`; kept as an alias for one release."""

from optdyn._core.deprecation import alias_module

alias_module(__name__, "optdyn.problems.conjugate_kernel")
