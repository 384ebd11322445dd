"""The error raised for bad input, naming the field (see :mod:`optdyn._core.errors`), and the
warning for settings that run but mislead (see :mod:`optdyn._core.traps`)."""

from optdyn._core.errors import ConfigError
from optdyn._core.registry import build_from_config
from optdyn._core.traps import TrapWarning

__all__ = ["ConfigError", "TrapWarning", "build_from_config"]
