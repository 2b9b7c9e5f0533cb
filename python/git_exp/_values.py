"""Turning Python values into what event lines carry: numbers for metrics,
JSON values for config and summary, dotted keys for nested dicts.

Array and tensor libraries are duck-typed (`.item()`, `.ndim`, `.tolist()`),
never imported.
"""

import json
import math
import numbers
import sys
from collections.abc import Mapping

from ._errors import Error

_MAX_DEPTH = 64
# Integers from 2**1024 on are infinite as floats (what the binary makes of them); they are
# sent as such, since their decimal text can exceed what int -> str allows (Python 3.11+).
INT_LIMIT = 1 << 1024


def _int(value):
    """value (an int) unchanged, or +-inf when it is too large for a float."""
    if -INT_LIMIT < value < INT_LIMIT:
        return value
    return math.inf if value > 0 else -math.inf


def flatten(data, prefix="", out=None):
    """Returns a flat dict: nested mappings become `outer.inner` keys; keys become str."""
    if out is None:
        out = {}
    for key, value in data.items():
        name = prefix + (key if type(key) is str else str(key))
        if isinstance(value, Mapping):
            flatten(value, name + ".", out)
        else:
            out[name] = value
    return out


def to_number(value):
    """Returns value as an int, float or bool if it is a number or a 0-d array/tensor, else None."""
    kind = type(value)
    if kind is float or kind is bool:
        return value
    if kind is int:
        return _int(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _int(int(value))
    if isinstance(value, float):
        return float(value)
    item = getattr(value, "item", None)
    if item is not None and callable(item) and _is_scalar(value):
        try:
            plain = item()
        except Exception:  # a tensor on a device that cannot copy, say
            return None
        if type(plain) is int:
            return _int(plain)
        if type(plain) in (float, bool):
            return plain
        return None
    decimal = sys.modules.get("decimal")
    if isinstance(value, numbers.Real) or (decimal is not None
                                           and isinstance(value, decimal.Decimal)):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def _is_scalar(value):
    ndim = getattr(value, "ndim", None)
    if ndim is None:
        shape = getattr(value, "shape", None)
        return shape is None or tuple(shape) == ()
    return ndim == 0


def format_number(value):
    """Formats a number for an event line: NaN and infinities as Python's json writes them."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        value = _int(value)
        if type(value) is int:
            return repr(value)
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return repr(value)


def encode_key(key):
    """The JSON text of a key followed by `: `, as it starts a member of an event line."""
    return json.dumps(key) + ": "


def jsonable(value, depth=0):
    """Returns value made of JSON types: numbers and 0-d arrays as numbers, arrays as
    lists, mappings as dicts with str keys, anything else as str()."""
    if value is None or type(value) in (str, float, bool):
        return value
    if type(value) is int:
        return _int(value)
    if depth > _MAX_DEPTH:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v, depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, str):
        return str(value)
    number = to_number(value)
    if number is not None:
        return number
    tolist = getattr(value, "tolist", None)
    if tolist is not None and callable(tolist):
        try:
            return jsonable(tolist(), depth + 1)
        except Exception:
            pass
    return str(value)


def as_dict(obj):
    """Returns a mapping, an argparse.Namespace or any object with __dict__ as a dict."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    fields = getattr(obj, "__dict__", None)
    if isinstance(fields, dict):
        return {k: v for k, v in fields.items() if not str(k).startswith("_")}
    raise Error("config must be a dict, an argparse.Namespace or an object with attributes, "
                "got %s" % type(obj).__name__)


def deep_merge(base, update):
    """Returns base with update merged in: dicts key by key, other values replaced.
    This is how the binary merges `_config` events into config.toml."""
    if not isinstance(base, dict) or not isinstance(update, dict):
        return update
    out = dict(base)
    for key, value in update.items():
        out[key] = deep_merge(out.get(key), value) if key in out else value
    return out


def overlay(value, fixed):
    """Returns value with every leaf that `fixed` also has replaced by fixed's leaf."""
    if isinstance(value, dict) and isinstance(fixed, dict):
        out = dict(value)
        for key, leaf in fixed.items():
            if key in out:
                out[key] = overlay(out[key], leaf)
        return out
    return fixed
