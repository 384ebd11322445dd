"""Names looked up in a registry, with one closest-name hint for every misspelling.

``lookup(registry, name, field, what)`` returns ``registry[name]`` or raises a
:class:`~optdyn._core.errors.ConfigError` naming ``field`` with the closest valid name;
``check_keys`` does the same for the keys of a table, ``build_from_config`` builds a registered
dataclass from a config table.

The one registry of what a spec can name is :data:`REGISTRY`: ``category -> name -> class or
function``, filled by the :func:`register` decorator where each class is defined (problems,
optimizers, noise laws, schedules, target and spectrum builders). A class is in the spec language
(:mod:`optdyn._core.spec`) as soon as it is registered; names match in any case, with or without
``_`` and ``-`` (:func:`canonical`).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from optdyn._core.errors import ConfigError, expected_one_of

__all__ = ["REGISTRY", "TAGS", "build_from_config", "canonical", "check_keys", "did_you_mean",
           "entries", "find", "lookup", "register", "register_loader", "table"]

#: category -> registered name -> class or builder function
REGISTRY: dict[str, dict[str, Any]] = {}
#: the key of a spec table that names its entry, per category (default ``"kind"``)
TAGS: dict[str, str] = {"noise": "law", "schedule": "schedule", "optax": "optax"}
#: category -> function that registers its entries, run at the category's first lookup (a
#: category backed by a heavy library, e.g. optax's factories, costs nothing until used)
_LOADERS: dict[str, Callable[[], None]] = {}


def register_loader(category: str, load: Callable[[], None]) -> None:
    """Fill ``category`` by calling ``load()`` at its first lookup (:func:`table`)."""
    _LOADERS[category] = load


def table(category: str) -> dict[str, Any]:
    """The live table of a category (its loader run first, once)."""
    load = _LOADERS.pop(category, None)
    if load is not None:
        load()
    return REGISTRY.get(category, {})


def canonical(name: Any) -> str:
    """The key a name is matched on: lower case without ``_`` and ``-`` (``sign_sgd`` ->
    ``signsgd``)."""
    return str(name).lower().replace("_", "").replace("-", "")


def register(category: str, name: str | None = None, **spec_fields: str):
    """Class (or function) decorator: put it in ``REGISTRY[category]`` under ``name`` (default:
    its ``name`` attribute, else its ``__name__``).

    ``spec_fields`` name the category of the fields that take a nested spec table (for example
    ``theta_star="vector"``); they are merged with those of registered base classes. The entry
    gets ``spec_category``, ``spec_name`` and ``spec_fields`` attributes, and a dataclass gets
    the record of its constructor inputs that :func:`optdyn._core.spec.to_spec` reads.
    """

    def deco(obj: Any) -> Any:
        key = name or getattr(obj, "name", None) or obj.__name__
        table = REGISTRY.setdefault(category, {})
        old = table.get(key)
        if old is not None and old is not obj and getattr(old, "__qualname__", None) != \
                getattr(obj, "__qualname__", None):
            raise ValueError(f"{category} {key!r} is registered twice ({old} and {obj})")
        table[key] = obj
        merged: dict[str, str] = {}
        for base in reversed(getattr(obj, "__mro__", ())[1:]):
            merged.update(getattr(base, "spec_fields", {}) or {})
        merged.update(spec_fields)
        obj.spec_category, obj.spec_name, obj.spec_fields = category, key, merged
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            _record_inputs(obj)
        return obj

    return deco


def _record_inputs(cls: type) -> None:
    """Wrap ``cls.__post_init__`` to keep the constructor's inputs as ``_spec_inputs`` (before
    ``__post_init__`` turns a builder or a name into arrays)."""
    post = getattr(cls, "__post_init__", None)
    names = [f.name for f in dataclasses.fields(cls)]

    def __post_init__(self: Any) -> None:
        inputs = {n: getattr(self, n) for n in names}
        if post is not None:
            post(self)
        object.__setattr__(self, "_spec_inputs", inputs)

    __post_init__._records_inputs = True  # type: ignore[attr-defined]
    __post_init__.__doc__ = getattr(post, "__doc__", None)
    cls.__post_init__ = __post_init__  # type: ignore[attr-defined]


def entries(category: str) -> dict[str, Any]:
    """The registered entries of a category (name -> class or function)."""
    return dict(table(category))


def find(category: str, name: Any, field: str) -> Any:
    """The entry of ``category`` named ``name`` (any case, ``_`` or ``-``), or a ConfigError on
    ``field`` with the closest valid name."""
    found = table(category)
    by_key = {canonical(k): v for k, v in found.items()}
    if isinstance(name, str) and canonical(name) in by_key:
        return by_key[canonical(name)]
    hint = did_you_mean(canonical(name), by_key) if isinstance(name, str) else ""
    if hint:
        close = {canonical(k): k for k in found}[hint.split("'")[1]]
        hint = f"; did you mean {close!r}?"
    raise ConfigError(field, f"unknown {category} {name!r}"
                      f"{expected_one_of(sorted(found), hint)}")


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to ``word``, else ``""``."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def lookup(registry: Mapping[str, Any], name: Any, field: str, what: str) -> Any:
    """``registry[name]``, or a ConfigError on ``field`` naming the closest valid name."""
    if name not in registry:
        hint = did_you_mean(name, registry)
        raise ConfigError(field, f"unknown {what} {name!r}"
                          f"{expected_one_of(sorted(registry), hint)}")
    return registry[name]


def check_keys(keys: Iterable[str], allowed: Iterable[str], where: str, what: str = "key"
               ) -> None:
    """Raise a ConfigError on ``where.key`` for the first key not in ``allowed``.

    ``what`` is the noun, optionally followed by whose key it is: ``"key for 'sgd'"`` reads
    ``unknown key 'lrr' for 'sgd'; did you mean 'lr'? Expected one of: ...``.
    """
    allowed = sorted(allowed)
    noun, _, owner = what.partition(" ")
    for key in keys:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            named = f"{noun} {key!r}" + (f" {owner}" if owner else "")
            raise ConfigError(field, f"unknown {named}"
                              f"{expected_one_of(allowed, did_you_mean(key, allowed))}")


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
