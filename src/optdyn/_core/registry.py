"""Names looked up in a registry, with one closest-name hint for every misspelling.

``lookup(registry, name, field, what)`` returns ``registry[name]`` or raises a
:class:`~optdyn._core.errors.ConfigError` naming ``field`` with the closest valid name;
``check_keys`` does the same for the keys of a table, ``build_from_config`` builds a registered
dataclass from a config table.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from optdyn._core.errors import ConfigError

__all__ = ["build_from_config", "check_keys", "did_you_mean", "lookup"]


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to ``word``, else ``""``."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def lookup(registry: Mapping[str, Any], name: Any, field: str, what: str) -> Any:
    """``registry[name]``, or a ConfigError on ``field`` naming the closest valid name."""
    if name not in registry:
        raise ConfigError(field, f"unknown {what} {name!r}{did_you_mean(name, registry)} "
                          f"(expected one of {sorted(registry)})")
    return registry[name]


def check_keys(keys: Iterable[str], allowed: Iterable[str], where: str, what: str = "key"
               ) -> None:
    """Raise a ConfigError on ``where.key`` for the first key not in ``allowed``."""
    allowed = sorted(allowed)
    for key in keys:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            raise ConfigError(field, f"unknown {what}{did_you_mean(key, allowed)} (expected "
                              f"one of {allowed})")


def build_from_config(registry: dict[str, type], cfg: dict, kind_key: str, field: str) -> Any:
    """Build the dataclass ``registry[cfg[kind_key]]`` from the other keys of ``cfg``.

    Errors name the field under ``field``: an unknown kind (``field.kind_key``), an unknown key
    (``field.key``, with the closest valid name) or a bad value (``field.<its field>``).
    """
    cfg = dict(cfg)
    kind = cfg.pop(kind_key, None)
    cls = lookup(registry, kind, f"{field}.{kind_key}", kind_key)
    check_keys(cfg, (f.name for f in dataclasses.fields(cls)), field, f"key for {kind!r}")
    try:
        return cls(**cfg)
    except ConfigError as e:
        raise ConfigError(f"{field}.{e.field}", str(e).split(": ", 1)[-1]) from None
    except TypeError as e:
        raise ConfigError(field, str(e)) from None
