"""The error raised for bad input, naming the field; see :mod:`optdyn._core.errors`."""

from optdyn._core.errors import ConfigError
from optdyn._core.registry import build_from_config

__all__ = ["ConfigError", "build_from_config"]
