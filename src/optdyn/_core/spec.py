"""The spec language: every registered object as a plain table, and back.

A *spec* is a plain mapping of JSON/TOML values that names a registered class or builder by its
tag (``kind``, ``law`` for noise laws, ``schedule`` for schedules, ``optax`` for optax
transformations) and gives its constructor arguments::

    {"kind": "linear_regression",
     "eigenvalues": {"kind": "power_law", "d": 500, "alpha": 0.75},
     "basis": "haar",
     "theta_star": {"kind": "power_law", "beta": 0.75},
     "noise": {"law": "student_t", "df": 3, "scale": 0.3}}

:func:`build` turns a spec into the object, :func:`to_spec` an object into its spec (the one it
was built from, with every default written out). What a table may contain is read from the
registered class's own fields (or the builder function's signature), so a class is in the language
as soon as it is registered (:func:`optdyn._core.registry.register`); nested tables are built in
the category the class declares for that field (``spec_fields``). A nested builder that misses a
required argument takes it from its parent table when the parent has it (``d`` of a
MatrixRegression for its spectrum). Nothing is ever evaluated or imported from a spec: names are
looked up in the registry only.

:func:`canonical_json` and :func:`spec_hash` give the canonical text and content address of a
spec; :func:`get_path`/:func:`set_path`/:func:`check_path` address fields such as
``optimizer.lr`` or ``problem.eigenvalues.alpha``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError, expected_one_of
from optdyn._core.registry import TAGS, check_keys, did_you_mean, find
from optdyn._core.registry import table as registry_table

__all__ = ["build", "canonical_json", "check_path", "get_path", "parameters", "set_path",
           "spec_hash", "to_spec", "remember"]


def tag_of(category: str) -> str:
    """The key that names the entry in a table of ``category``."""
    return TAGS.get(category, "kind")


def parameters(target: Any) -> dict[str, Any]:
    """Constructor parameters of a registered class or function: name -> default
    (``inspect.Parameter.empty`` when required)."""
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        out = {}
        for f in dataclasses.fields(target):
            if not f.init:
                continue
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
            else:
                out[f.name] = inspect.Parameter.empty
        return out
    sig = inspect.signature(target)
    return {n: p.default for n, p in sig.parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def remember(obj: Any, spec: dict[str, Any]) -> Any:
    """Attach the spec an object was built from (returned by :func:`to_spec`)."""
    try:
        object.__setattr__(obj, "_spec", spec)
    except (AttributeError, TypeError):
        pass
    return obj


def _prefix(field: str, err: ConfigError) -> ConfigError:
    inner = err.field
    return ConfigError(f"{field}.{inner}" if inner and not inner.startswith(field) else
                       (inner or field), str(err).split(": ", 1)[-1])


def build(category: str, value: Any, field: str, context: Mapping[str, Any] | None = None
          ) -> Any:
    """The object a spec table describes (anything that is not a table is returned as is).

    Errors name the field path (``optimizer[1].lr``) and, for a misspelled name or key, the
    closest valid one.
    """
    if not isinstance(value, Mapping):
        return value
    tag = tag_of(category)
    table = dict(value)
    if tag not in table:
        raise ConfigError(f"{field}.{tag}",
                          f"is required{expected_one_of(sorted(registry_table(category)))}")
    name = table.pop(tag)
    target = find(category, name, f"{field}.{tag}")
    params = parameters(target)
    check_keys(table, params, field, f"key for {target.spec_name!r}")
    nested = getattr(target, "spec_fields", {}) or {}
    kwargs: dict[str, Any] = {}
    normal: dict[str, Any] = {tag: target.spec_name}
    for key, v in table.items():
        if key in nested and isinstance(v, Mapping):
            kwargs[key] = build(nested[key], v, f"{field}.{key}", context=table)
            normal[key] = getattr(kwargs[key], "_spec", None) or _nested_spec(
                nested[key], v, f"{field}.{key}")
        else:
            kwargs[key] = v
            normal[key] = _plain(v, f"{field}.{key}")
    for key, default in params.items():
        if key in kwargs:
            continue
        if default is inspect.Parameter.empty and context is not None and key in context:
            kwargs[key] = context[key]  # inherited: not in the spec, so it follows the parent
        elif default is inspect.Parameter.empty:
            raise ConfigError(f"{field}.{key}", f"is required for {target.spec_name!r}")
        elif default is not None:
            normal[key] = _plain(default, f"{field}.{key}")
    try:
        obj = target(**kwargs)
    except ConfigError as e:
        raise _prefix(field, e) from None
    except TypeError as e:
        raise ConfigError(field, str(e)) from None
    return remember(obj, normal)


def _nested_spec(category: str, value: Mapping, field: str) -> dict:
    """The normalised spec of a nested builder whose result cannot carry it (an array)."""
    tag = tag_of(category)
    target = find(category, value[tag], f"{field}.{tag}")
    out: dict[str, Any] = {tag: target.spec_name}
    for key, default in parameters(target).items():
        if key in value:
            out[key] = _plain(value[key], f"{field}.{key}")
        elif default is not None and default is not inspect.Parameter.empty:
            out[key] = _plain(default, f"{field}.{key}")
    return out


def to_spec(obj: Any, field: str = "spec") -> dict[str, Any]:
    """The spec of a registered object: the one it was built from by :func:`build`, else its
    constructor inputs (arrays as lists), with every default written out."""
    spec = getattr(obj, "_spec", None)
    if spec is not None:
        return copy.deepcopy(spec)
    hook = getattr(obj, "to_spec", None)
    if callable(hook):
        return hook()
    cls = type(obj)
    category = getattr(cls, "spec_category", None)
    if category is None or registry_table(category).get(cls.spec_name) is not cls:
        raise ConfigError(field, f"{cls.__name__} is not registered, so it has no spec "
                          "(register it with optdyn._core.registry.register)")
    inputs = getattr(obj, "_spec_inputs", None) or {}
    out: dict[str, Any] = {tag_of(category): cls.spec_name}
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        v = inputs.get(f.name, getattr(obj, f.name))
        if v is None:
            continue
        out[f.name] = _plain(v, f"{field}.{f.name}")
    return out


def _plain(v: Any, field: str) -> Any:
    """A JSON/TOML value for ``v``; registered objects become nested specs."""
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, Mapping):
        return {str(k): _plain(x, f"{field}.{k}") for k, x in v.items() if x is not None}
    if isinstance(v, list | tuple):
        return [_plain(x, field) for x in v]
    if getattr(type(v), "spec_category", None) is not None or hasattr(v, "_spec"):
        return to_spec(v, field)
    if isinstance(v, type) and issubclass(v, np.generic) or isinstance(v, np.dtype):
        return np.dtype(v).name
    if type(v).__module__.startswith("jax") and hasattr(v, "dtype") and hasattr(v, "shape"):
        try:
            return np.asarray(v).tolist()
        except Exception:  # a tracer
            raise ConfigError(field, "is a traced value, which has no spec") from None
    if isinstance(v, np.ndarray):
        return v.tolist()
    if hasattr(v, "dtype") and callable(v):  # jnp.float32 and friends
        return np.dtype(v).name
    raise ConfigError(field, f"a {type(v).__name__} has no spec (give a number, a list, a name "
                      "or a registered builder)")


def canonical_json(spec: Any) -> str:
    """The canonical text of a spec: sorted keys, no spaces, exact floats."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def spec_hash(spec: Any, version: str = "") -> str:
    """A 16-hex-digit content address of a spec (and an optdyn version)."""
    return hashlib.sha256((canonical_json(spec) + "|" + version).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------- field paths

_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


def _parts(path: str) -> list[tuple[str, int | None]]:
    out = []
    for piece in str(path).split("."):
        m = _PART.match(piece)
        if not m:
            raise ConfigError(f"sweep.{path}", f"{piece!r} is not a field name (write fields as "
                              "optimizer.lr, optimizer[1].lr or problem.eigenvalues.alpha)")
        out.append((m.group(1), None if m.group(2) is None else int(m.group(2))))
    return out


def _targets(node: Any, parts: list[tuple[str, int | None]]) -> list[tuple[dict, str]]:
    """Every (table, key) that ``parts`` addresses in ``node`` (lists fan out)."""
    (key, index), rest = parts[0], parts[1:]
    if isinstance(node, list):
        return [t for item in node for t in _targets(item, parts)]
    if not isinstance(node, dict):
        return []
    if not rest and index is None:
        return [(node, key)]
    child = node.get(key)
    if index is not None:
        if not isinstance(child, list) or index >= len(child):
            return []
        child = child[index]
        if not rest:
            return []
    return _targets(child, rest)


def get_path(spec: dict, path: str) -> list[Any]:
    """The values at ``path`` (one per optimizer table when the path fans out over a list)."""
    return [t.get(k) for t, k in _targets(spec, _parts(path))]


def set_path(spec: dict, path: str, value: Any) -> dict:
    """A copy of ``spec`` with ``path`` set to ``value`` (on every table the path addresses)."""
    out = copy.deepcopy(spec)
    targets = _targets(out, _parts(path))
    if not targets:
        raise ConfigError(f"sweep.{path}", "addresses no table of the spec")
    for table, key in targets:
        table[key] = copy.deepcopy(value)
    return out


def check_path(spec: dict, path: str, categories: Mapping[str, str],
               top_keys: set[str]) -> None:
    """Raise a ConfigError on ``sweep.<path>`` unless every table it addresses has that field.

    ``categories`` gives the category of the top-level tables (``problem``, ``optimizer``);
    ``top_keys`` the other fields of the top level.
    """
    parts = _parts(path)
    head, index = parts[0]
    allowed_top = set(categories) | set(top_keys)
    if head not in allowed_top:
        hint = did_you_mean(head, allowed_top)
        raise ConfigError(f"sweep.{path}", f"unknown field {head!r}"
                          f"{expected_one_of(sorted(allowed_top), hint)}")
    if len(parts) == 1:  # a run setting, or a whole table (list of tables) replaced
        return
    node = spec.get(head)
    nodes = node if isinstance(node, list) else [node]
    if index is not None:
        if not isinstance(node, list) or index >= len(node):
            raise ConfigError(f"sweep.{path}", f"{head} has {len(nodes)} table(s), so there is "
                              f"no {head}[{index}] (the first is {head}[0])")
        nodes = [node[index]]
    for item in nodes:
        _check_in(item, categories[head], parts[1:], f"sweep.{path}")


def _check_in(table: Any, category: str, parts: list, field: str) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(field, "addresses a value that is not a table")
    tag = tag_of(category)
    target = find(category, table.get(tag), field)
    params = parameters(target)
    (key, _), rest = parts[0], parts[1:]
    if key == tag:
        raise ConfigError(field, f"the {tag} of a table cannot be swept (its other fields "
                          f"belong to it): sweep the whole table instead (e.g. \"optimizer\" "
                          "over lists of optimizer tables), or list the kinds as configs")
    if key not in params:
        raise ConfigError(field, f"{target.spec_name!r} has no field {key!r}"
                          f"{expected_one_of(sorted(params), did_you_mean(key, params))}")
    if rest:
        sub = (getattr(target, "spec_fields", {}) or {}).get(key)
        if sub is None:
            raise ConfigError(field, f"{key!r} of {target.spec_name!r} is not a table")
        _check_in(table.get(key), sub, rest, field)

