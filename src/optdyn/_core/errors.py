"""Errors raised by optdyn for bad input."""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad input: the message names the field and what was expected.

    Attributes:
        field: the name of the offending field (e.g. ``"lr"`` or ``"problem.covariance"``).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def build_from_config(registry: dict[str, type], cfg: dict, kind_key: str, field: str):
    """Build the dataclass ``registry[cfg[kind_key]]`` from the other keys of ``cfg``.

    Errors name the field under ``field``: an unknown kind (``field.kind_key``), an unknown key
    (``field.key``, with the closest valid name) or a bad value (``field.<its field>``).
    """
    import dataclasses
    import difflib

    cfg = dict(cfg)
    kind = cfg.pop(kind_key, None)
    if kind not in registry:
        raise ConfigError(f"{field}.{kind_key}",
                          f"unknown {kind_key} {kind!r}; expected one of {sorted(registry)}")
    cls = registry[kind]
    names = sorted(f.name for f in dataclasses.fields(cls))
    for key in cfg:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{field}.{key}",
                              f"unknown key for {kind!r}{hint} Expected some of {names}")
    try:
        return cls(**cfg)
    except ConfigError as e:
        raise ConfigError(f"{field}.{e.field}", str(e).split(": ", 1)[-1]) from None
    except TypeError as e:
        raise ConfigError(field, str(e)) from None
