"""The run config: a dict with attribute access that starts from the run's
params and sends every change as a `_config` event.

Values are kept as JSON types (see `_values.jsonable`). Assigning a dict to a
key that holds a dict merges the two, as the binary merges `_config` events
into config.toml, so what the script reads is what gets stored.
"""

import copy
import sys
from collections.abc import MutableMapping

from ._errors import ConfigError, Error
from ._values import as_dict, deep_merge, jsonable, overlay


class Config(MutableMapping):
    """Run config: `config["lr"]`, `config.lr`, `config.update({...})`.

    strict (the W&B-compatible module): changing a key's value needs
    allow_val_change=True. locked (idem): keys that came from the run's params
    (`git exp run -p`) keep their values, as W&B keeps sweep values.
    """

    def __init__(self, emit, params, strict=False, locked=False):
        params = jsonable(params or {})
        set_ = object.__setattr__
        set_(self, "_emit", emit)
        set_(self, "_items", copy.deepcopy(params))
        set_(self, "_initial", params)
        set_(self, "_locked", params if locked else {})
        set_(self, "_strict", strict)
        set_(self, "_warned", set())

    def __getitem__(self, key):
        return self._items[key]

    def __setitem__(self, key, value):
        self._set({key: value}, allow_val_change=False)

    def __delitem__(self, key):
        raise Error("config keys cannot be removed: the stored config only grows")

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def __contains__(self, key):
        return key in self._items

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError("config has no key %r" % key) from None

    def __setattr__(self, key, value):
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self[key] = value

    def __repr__(self):
        return "Config(%r)" % self._items

    def update(self, d=None, allow_val_change=False, **kwargs):
        """Sets several keys (from a dict, an argparse.Namespace or an object's
        attributes) with one `_config` event."""
        values = as_dict(d)
        values.update(kwargs)
        self._set(values, allow_val_change)

    def setdefaults(self, d):
        """Sets the keys of d that the config does not have yet."""
        self._set({k: v for k, v in as_dict(d).items() if str(k) not in self._items}, True)

    def as_dict(self):
        """A deep copy of the config as a plain dict."""
        return copy.deepcopy(self._items)

    def keys(self):
        return self._items.keys()

    def items(self):
        return self._items.items()

    def values(self):
        return self._items.values()

    def get(self, key, default=None):
        return self._items.get(key, default)

    def _apply_defaults(self, d):
        """Applies the config given to init: the run's params win over it, silently
        (as W&B sweep values win over a script's defaults)."""
        values = {}
        for key, value in as_dict(d).items():
            key = str(key)
            value = jsonable(value)
            if key in self._initial:
                value = overlay(value, self._initial[key])
            values[key] = value
        self._set(values, allow_val_change=True, quiet=True)

    def _set(self, values, allow_val_change, quiet=False):
        changed = {}
        merged_all = {}
        for key, value in values.items():
            key = str(key)
            value = jsonable(value)
            if key in self._locked:
                fixed = overlay(value, self._locked[key])
                if fixed != value and not quiet and key not in self._warned:
                    self._warned.add(key)
                    sys.stderr.write("git-exp: warning: config %r is set by the run's params "
                                     "(git exp run -p); the script's value is ignored\n" % key)
                value = fixed
            old = self._items.get(key, _MISSING)
            merged = value if old is _MISSING else deep_merge(old, value)
            if old is not _MISSING and merged == old:
                continue
            if self._strict and not allow_val_change and old is not _MISSING:
                raise ConfigError(
                    'Attempted to change value of key "%s" from %r to %r\n'
                    "If you really want to do this, pass allow_val_change=True to config.update()"
                    % (key, old, value))
            changed[key] = value
            merged_all[key] = merged
        if not changed:
            return
        self._items.update(merged_all)
        self._emit({"_config": changed})


_MISSING = object()
