"""The run summary: explicit values, last logged values, and the min/max/mean/...
that `define_metric` asks for.

The binary already keeps each metric's last, min and max; what this module
adds is what a script can read back (`run.summary["loss"]`) and the
aggregates `define_metric` selects, sent as `_summary` values.
"""

import fnmatch
from collections.abc import MutableMapping

from ._errors import Error
from ._values import jsonable

KINDS = ("min", "max", "mean", "first", "last", "best", "none")
GOALS = {None: None, "minimize": "min", "min": "min", "maximize": "max", "max": "max"}


def parse_summary(summary, goal):
    """Returns the aggregate kinds a define_metric call asks for (a tuple, maybe empty)."""
    if goal not in GOALS:
        raise Error("goal must be 'minimize' or 'maximize', got %r" % (goal,))
    if summary is None:
        return None
    kinds = tuple(part.strip() for part in str(summary).split(",") if part.strip())
    for kind in kinds:
        if kind not in KINDS:
            raise Error("summary must be one of %s (or several, comma-separated), got %r"
                        % (", ".join(KINDS), summary))
    if "best" in kinds and GOALS[goal] is None:
        raise Error("summary='best' needs goal='minimize' or goal='maximize'")
    if "none" in kinds:
        return ("none",)
    return tuple("best:" + GOALS[goal] if kind == "best" else kind for kind in kinds)


class Aggregate:
    """Running first/last/min/max/mean of one metric (NaN is left out of min/max/mean)."""

    __slots__ = ("kinds", "first", "last", "min", "max", "total", "count")

    def __init__(self, kinds):
        self.kinds = kinds
        self.first = self.last = self.min = self.max = None
        self.total = 0.0
        self.count = 0

    def add(self, value):
        if self.first is None:
            self.first = value
        self.last = value
        number = float(value)
        if number != number:
            return
        if self.min is None or number < self.min:
            self.min = value
        if self.max is None or number > self.max:
            self.max = value
        self.total += number
        self.count += 1

    def value(self):
        """The aggregate: one value for one kind, a dict of kind -> value for several."""
        values = {}
        for kind in self.kinds:
            if kind == "mean":
                values["mean"] = self.total / self.count if self.count else None
            elif kind.startswith("best:"):
                values["best"] = getattr(self, kind[5:])
            else:
                values[kind] = getattr(self, kind)
        if len(values) == 1:
            return next(iter(values.values()))
        return values


class Metrics:
    """define_metric rules and the aggregates they select."""

    def __init__(self):
        self.active = False  # True once a rule with a summary exists: log() then calls observe
        self.dirty = False
        self._exact = {}
        self._globs = []
        self._kinds = {}  # metric -> kinds tuple or None, cached per metric name
        self._aggregates = {}

    def define(self, name, kinds):
        """Adds a rule; later rules win over earlier ones, exact names over globs."""
        if kinds is None:
            return
        if any(ch in name for ch in "*?["):
            self._globs.insert(0, (name, kinds))
        else:
            self._exact[name] = kinds
        self._kinds.clear()
        self.active = True

    def kinds(self, metric):
        """The aggregate kinds for metric, or None if no rule matches."""
        try:
            return self._kinds[metric]
        except KeyError:
            pass
        kinds = self._exact.get(metric)
        if kinds is None:
            for pattern, candidate in self._globs:
                if fnmatch.fnmatchcase(metric, pattern):
                    kinds = candidate
                    break
        self._kinds[metric] = kinds
        return kinds

    def observe(self, row):
        """Feeds one committed row (flat metric -> number) to the matching aggregates."""
        for metric, value in row.items():
            kinds = self.kinds(metric)
            if kinds is None or kinds == ("none",):
                continue
            aggregate = self._aggregates.get(metric)
            if aggregate is None or aggregate.kinds != kinds:
                aggregate = self._aggregates[metric] = Aggregate(kinds)
            aggregate.add(value)
            self.dirty = True

    def hidden(self, metric):
        """True if a rule says summary='none' for metric."""
        return self.active and self.kinds(metric) == ("none",)

    def value(self, metric):
        """The aggregate of metric, or None."""
        aggregate = self._aggregates.get(metric)
        return None if aggregate is None else aggregate.value()

    def values(self):
        """Aggregates to send as `_summary` (all but plain `last`, which the binary keeps)."""
        return {
            metric: aggregate.value()
            for metric, aggregate in self._aggregates.items()
            if aggregate.kinds != ("last",)
        }


class Summary(MutableMapping):
    """The run's summary as a dict: explicit values, else the define_metric
    aggregate, else the last logged value. Writes go out as `_summary` events."""

    def __init__(self, run):
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_explicit", {})

    def __getitem__(self, key):
        if key in self._explicit:
            return self._explicit[key]
        run = self._run
        metrics = run._metrics
        if key in run._last and not metrics.hidden(key):
            aggregate = metrics.value(key)
            return run._last[key] if aggregate is None else aggregate
        raise KeyError(key)

    def __setitem__(self, key, value):
        self.update({key: value})

    def __delitem__(self, key):
        raise Error("summary values cannot be removed once sent; set another value instead")

    def __iter__(self):
        run = self._run
        seen = set(self._explicit)
        yield from list(self._explicit)
        for key in list(run._last):
            if key not in seen and not run._metrics.hidden(key):
                yield key

    def __len__(self):
        return sum(1 for _ in self)

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError("summary has no key %r" % key) from None

    def __setattr__(self, key, value):
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self[key] = value

    def update(self, other=(), **kwargs):
        """Sets several explicit values with one `_summary` event."""
        values = dict(other, **kwargs)
        if not values:
            return
        clean = {str(k): jsonable(v) for k, v in values.items()}
        self._explicit.update(clean)
        self._run._emit({"_summary": clean})

    def explicit_keys(self):
        """Keys set explicitly (these win over aggregates when the summary is sent)."""
        return set(self._explicit)

    def __repr__(self):
        return "Summary(%r)" % dict(self)
