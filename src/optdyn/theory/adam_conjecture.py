"""Moved to :mod:`optdyn.analysis.adam`; kept as an alias for one release."""

from optdyn._core.deprecation import alias_module

alias_module(__name__, "optdyn.analysis.adam")
