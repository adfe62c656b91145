"""ClusterState: every invoker as one row of numpy columns, updated incrementally.

Why columns: placement scores all invokers at once, so each attribute is one array indexed
by row (``healthy``, ``free_memory_mb``, ``site`` ...). Set-valued attributes (kinds,
capabilities, networks, labels ``k=v``, namespaces, cached artifacts) are kept the other way
round, as a sparse member list per term (an int32 ``array``, not a Python set: a set of one
row costs 216 bytes): a deployment with 10,000 users' home networks holds 10,000 small arrays,
not a 10,000-column bitmask. Each row also keeps its own sets, interned (see ``_intern``).
Single-valued strings (owner, site) are codes into a vocabulary.

Rows: a new invoker takes the lowest free row, an unregistered one frees its row. The row is
the tie-break order of placement ("lowest row wins"): registration order while nothing was
unregistered.

Versions: ``static_version`` changes when the rows themselves change (registration,
unregistration): every cached entry is rebuilt. A heartbeat changing one invoker's static
attributes (labels, networks, cached artifacts, site ...) only appends its row to
``restated``, and dynamic columns (health, free memory, in flight, queue backlog, warm
containers) change in O(1) per event and append their row to ``changed``: both are numbered
``RowLog``s, so each cached entry catches up on just the rows it has not seen yet.

``View`` is what plugins read: the columns and membership questions over all rows, or over a
few rows (the tests' brute-force reference scores one invoker at a time through a one-row
view with the very same plugin code).
"""

from __future__ import annotations

import heapq
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from .interface import InvokerState

Mask = npt.NDArray[np.bool_]
"""One bool per row of a view (a filter's answer, the candidates)."""
Rows = npt.NDArray[np.intp]
"""Sorted state rows (or positions within a view)."""
Vector = npt.NDArray[Any]
"""Numbers per row: a column, raw or weighted scores, totals."""

ROLES = ("cloud", "edge")
OPEN_NAMESPACE = "*"
"""The ``namespace`` term of invokers that serve every namespace."""

SET_ATTRIBUTES = ("kind", "capability", "network", "label", "namespace", "cached", "owner")
CODED_ATTRIBUTES = ("owner", "site")

# name -> dtype of the per-row columns.
COLUMNS: Mapping[str, Any] = {
    "present": np.bool_,
    "healthy": np.bool_,
    "memory_mb": np.float32,
    "free_memory_mb": np.float32,
    "in_flight": np.int32,
    "role": np.int8,
    "owner": np.int32,  # -1: no owner
    "site": np.int32,
    "bandwidth_mbps": np.float32,
    "cpus": np.float32,
    "backlog_ms": np.float32,  # expected run time of the activations placed and not completed
    "queue_ms": np.float32,  # backlog_ms / cpus: how long a new activation would wait
    "rtt_ms": np.float32,  # measured round trip to the controller; -1: none measured yet
    # live context (``policy.context``): static columns a ``context`` report restates
    "battery": np.float32,  # 0..1; -1: no battery (mains powered)
    "charging": np.int8,  # tri-state (``TRI``): 1 yes, 0 no, -1 not reported
    "idle": np.int8,
    "metered": np.int8,
}
CONTEXT_COLUMNS = ("battery", "charging", "idle", "metered")
"""The live-context columns, named as ``InvokerState``'s fields (``encode_context``)."""
DYNAMIC_CHANGES = frozenset({"healthy", "free_memory_mb", "in_flight", "backlog_ms"})
LOG_KEEP = 4096
"""Rows a ``RowLog`` keeps at least; an entry further behind is recomputed in full."""


class RowLog:
    """The rows that changed, in order and numbered, so each reader catches up on its own.

    Why not a set of dirty rows: every cached entry reads the changes at its own pace (an
    entry unused for a while, one placed every time), so nobody may clear them. A reader
    keeps ``seq`` after reading; ``since(seq)`` is what changed after that, or None when the
    log has dropped that far back (then the reader recomputes everything).
    """

    __slots__ = ("_rows", "_base", "_keep")

    def __init__(self, keep: int = LOG_KEEP) -> None:
        self._rows: list[int] = []
        self._base = 0  # number of _rows[0]
        self._keep = keep

    @property
    def seq(self) -> int:
        """The number the next appended row gets: what a reader has seen after reading."""
        return self._base + len(self._rows)

    def append(self, row: int) -> None:
        rows = self._rows
        rows.append(row)
        if len(rows) >= 2 * self._keep:
            del rows[: self._keep]
            self._base += self._keep

    def since(self, seq: int) -> list[int] | None:
        """Rows appended from number ``seq`` on (repeats included); None: no longer known."""
        if seq < self._base:
            return None
        return self._rows[seq - self._base:]


class ClusterState:
    def __init__(self, capacity: int = 64) -> None:
        self.n = 0  # rows ever used (high-water mark): views cover rows [0, n)
        self.count = 0  # invokers registered
        self.index: dict[str, int] = {}
        self.ids: list[str | None] = []
        self._free_rows: list[int] = []  # a heap: the lowest free row is reused first
        self.cols: dict[str, Vector] = {
            name: np.zeros(capacity, dtype) for name, dtype in COLUMNS.items()
        }
        # attribute -> term -> its rows, unordered, as compact int32 arrays (a Python set of
        # one row costs 216 bytes; most terms - cached models, home networks - have few rows)
        self.members: dict[str, dict[str, array[int]]] = {a: {} for a in SET_ATTRIBUTES}
        self._arrays: dict[tuple[str, str], Rows] = {}
        self.codes: dict[str, dict[str, int]] = {a: {} for a in CODED_ATTRIBUTES}
        self.names: dict[str, list[str]] = {a: [] for a in CODED_ATTRIBUTES}
        # row -> its set attributes, one frozenset per SET_ATTRIBUTES entry (None: free row);
        # identical frozensets are shared between rows through ``_shared``
        self._terms: list[tuple[frozenset[str], ...] | None] = []
        self._shared: dict[frozenset[str], frozenset[str]] = {}
        self.warm: dict[str, set[int]] = {}  # action key -> rows holding a warm container
        self.run_ewma: dict[str, float] = {}  # action key -> EWMA of observed run time
        self.run_ms: dict[str, float] = {}  # action key -> the run time placement assumes
        self.sizes: dict[str, int] = {}  # artifact key -> bytes, as far as it is known
        self.static_version = 0
        self.changes = 0  # counts every column write (row views cache columns per count)
        self.shared_version = 0  # counts changes of run_ms (what no row holds; Shared.depends)
        self.changed = RowLog()  # rows whose dynamic columns or warm containers changed
        self.restated = RowLog()  # rows whose static attributes changed (not registrations)

    # -- registration ----------------------------------------------------------------------

    def add(self, s: InvokerState) -> int:
        """Add invoker ``s`` (``ValueError`` if its id is known); returns its row."""
        if s.id in self.index:
            raise ValueError(f"invoker {s.id!r} is already registered")
        row = heapq.heappop(self._free_rows) if self._free_rows else self._new_row()
        self.index[s.id] = row
        self.ids[row] = s.id
        self.count += 1
        c = self.cols
        c["present"][row] = True
        c["healthy"][row] = s.healthy
        c["memory_mb"][row] = s.memory_mb
        c["free_memory_mb"][row] = s.free_memory_mb
        c["in_flight"][row] = s.in_flight
        c["backlog_ms"][row] = 0.0
        c["role"][row] = ROLES.index(s.role) if s.role in ROLES else 0
        c["owner"][row] = -1 if s.owner is None else self.code("owner", s.owner, create=True)
        c["site"][row] = self.code("site", s.site, create=True)
        c["bandwidth_mbps"][row] = s.bandwidth_mbps
        c["cpus"][row] = max(s.cpus, 1e-3)
        c["queue_ms"][row] = 0.0
        c["rtt_ms"][row] = -1.0
        for name in CONTEXT_COLUMNS:
            c[name][row] = encode_context(name, getattr(s, name))
        self._set_terms(row, self._intern(terms_of(s)))
        self.static_version += 1
        self.changes += 1
        self.changed.append(row)
        return row

    def remove(self, id: str) -> int:
        """Forget invoker ``id`` (``KeyError`` if unknown); returns the row it had."""
        row = self.index.pop(id)
        self._set_terms(row, None)
        for rows in self.warm.values():
            rows.discard(row)
        self.ids[row] = None
        for name, dtype in COLUMNS.items():
            self.cols[name][row] = dtype(0)
        self.cols["cpus"][row] = 1.0  # no 0/0 in queue estimates over absent rows
        self.count -= 1
        heapq.heappush(self._free_rows, row)
        self.static_version += 1
        self.changes += 1
        self.changed.append(row)
        return row

    def update(self, id: str, **changes: Any) -> None:
        """Apply a heartbeat: ``healthy``, ``free_memory_mb``, ``in_flight`` are O(1) dynamic
        changes; anything else of ``InvokerState`` (networks, cached, labels...) is static."""
        row = self.index[id]
        unknown = set(changes) - set(InvokerState.__dataclass_fields__) - {"backlog_ms"}
        if unknown or "id" in changes:
            raise ValueError(f"cannot change {sorted(unknown | ({'id'} & set(changes)))}")
        for name in DYNAMIC_CHANGES & set(changes):
            self.cols[name][row] = changes[name]
        static = set(changes) - DYNAMIC_CHANGES
        if static and self._update_static(id, row, {k: changes[k] for k in static}):
            self.restated.append(row)  # only a real change touches the cached entries
        if "backlog_ms" in changes or "cpus" in changes:
            self.add_backlog(row, 0.0)
        self.changes += 1
        self.changed.append(row)

    def _update_static(self, id: str, row: int, changes: dict[str, Any]) -> bool:
        """Write static attributes; whether any of them differed from what the row held."""
        c, changed = self.cols, False
        numbers = {"memory_mb": None, "bandwidth_mbps": None, "cpus": 1e-3}
        for name, floor in numbers.items():
            if name in changes:
                value = changes[name] if floor is None else max(changes[name], floor)
                if c[name][row] != c[name].dtype.type(value):
                    c[name][row], changed = value, True
        codes: dict[str, Callable[[Any], int]] = {
            "role": lambda v: ROLES.index(v) if v in ROLES else 0,
            "owner": lambda v: -1 if v is None else self.code("owner", v, create=True),
            "site": lambda v: self.code("site", v, create=True),
        }
        for name, encode in codes.items():
            if name in changes and c[name][row] != encode(changes[name]):
                c[name][row], changed = encode(changes[name]), True
        for name in CONTEXT_COLUMNS:
            if name in changes:
                value = c[name].dtype.type(encode_context(name, changes[name]))
                if c[name][row] != value:
                    c[name][row], changed = value, True
        if set(changes) & {"kinds", "namespaces", "labels", "capabilities", "networks", "cached",
                           "owner"}:
            fresh = self._intern(terms_of(replace(self.snapshot(id), **changes)))
            if fresh != self._terms[row]:
                self._set_terms(row, fresh)
                changed = True
        return changed

    def add_backlog(self, row: int, ms: float) -> None:
        """Add ``ms`` of expected work to ``row``'s queue (never below 0)."""
        self.charge(row, 0, 0, ms)

    def charge(self, row: int, memory_mb: float, count: int, backlog_ms: float) -> None:
        """An activation placed on ``row`` (or, negated, ended): it holds ``memory_mb``, counts
        ``count`` in flight and ``backlog_ms`` of expected work. One call per event, because
        the dispatcher makes one per activation and each call costs on every placement."""
        c = self.cols  # item() and a plain write: ``col[row] -= x`` costs ten times more
        if memory_mb:
            free = c["free_memory_mb"]
            free[row] = free.item(row) - memory_mb
        if count:
            flight = c["in_flight"]
            in_flight = flight.item(row) + count
            flight[row] = in_flight if in_flight > 0 else 0
        backlog = c["backlog_ms"].item(row) + backlog_ms
        if backlog < 0.0:
            backlog = 0.0
        c["backlog_ms"][row] = backlog
        c["queue_ms"][row] = backlog / c["cpus"].item(row)
        self.changes += 1
        self.changed.append(row)

    def set_rtt(self, row: int, ms: float) -> None:
        """The round trip placement reads for ``row`` (Proximity): a static attribute."""
        self.cols["rtt_ms"][row] = ms
        self.changes += 1
        self.restated.append(row)
        self.changed.append(row)

    def snapshot(self, id: str) -> InvokerState:
        """The invoker ``id`` as an ``InvokerState`` (for explanations and tests; not hot)."""
        row = self.index[id]
        c, t = self.cols, self.terms(row)
        owner = int(c["owner"][row])
        return InvokerState(
            id=id, kinds=t.get("kind", frozenset()), memory_mb=int(c["memory_mb"][row]),
            free_memory_mb=int(c["free_memory_mb"][row]), in_flight=int(c["in_flight"][row]),
            healthy=bool(c["healthy"][row]),
            namespaces=(None if OPEN_NAMESPACE in t.get("namespace", ())
                        else t.get("namespace", frozenset())),
            role=ROLES[int(c["role"][row])],
            owner=None if owner < 0 else self.names["owner"][owner],
            site=self.names["site"][int(c["site"][row])],
            labels=dict(label.split("=", 1) for label in t.get("label", ())),
            capabilities=t.get("capability", frozenset()), networks=t.get("network", frozenset()),
            bandwidth_mbps=float(c["bandwidth_mbps"][row]),
            cached=t.get("cached", frozenset()), cpus=float(c["cpus"][row]),
            **{name: decode_context(name, c[name].item(row)) for name in CONTEXT_COLUMNS},
        )

    # -- vocabularies ----------------------------------------------------------------------

    def code(self, attribute: str, name: str, create: bool = False) -> int:
        """The code of ``name`` in a coded attribute (owner, site); -1 if unknown."""
        codes = self.codes[attribute]
        found = codes.get(name)
        if found is None:
            if not create:
                return -1
            found = codes[name] = len(self.names[attribute])
            self.names[attribute].append(name)
        return found

    def rows_of(self, attribute: str, term: str) -> Rows:
        """Sorted rows whose set ``attribute`` holds ``term`` (cached until it changes)."""
        key = (attribute, term)
        rows = self._arrays.get(key)
        if rows is None:
            members = self.members[attribute].get(term)
            held = np.frombuffer(members, np.int32) if members else np.zeros(0, np.int32)
            rows = self._arrays[key] = np.sort(held).astype(np.intp)
        return rows

    def warm_rows(self, action: str) -> Rows:
        key = ("warm", action)
        rows = self._arrays.get(key)
        if rows is None:
            members = self.warm.get(action, ())
            rows = self._arrays[key] = np.fromiter(sorted(members), np.intp, len(members))
        return rows

    def set_run_ms(self, action: str, ms: float) -> None:
        """The run time placement assumes for ``action`` (DeadlineFeasibility, backlogs)."""
        self.run_ms[action] = ms
        self.shared_version += 1

    def set_warm(self, row: int, action: str, warm: bool) -> None:
        """Whether ``row`` holds a warm container of ``action`` (WarmContainer reads it)."""
        rows = self.warm.setdefault(action, set())
        if warm != (row in rows):
            (rows.add if warm else rows.discard)(row)
            self._arrays.pop(("warm", action), None)
            self.changed.append(row)

    # -- internals -------------------------------------------------------------------------

    def _new_row(self) -> int:
        row = self.n
        if row == len(self.cols["present"]):
            for name, col in self.cols.items():
                grown = np.zeros(max(64, 2 * len(col)), col.dtype)
                grown[: len(col)] = col
                self.cols[name] = grown
        self.n += 1
        self.ids.append(None)
        self._terms.append(None)
        return row

    def terms(self, row: int) -> dict[str, frozenset[str]]:
        """The set attributes of ``row`` by attribute name (empty ones left out)."""
        held = self._terms[row]
        if held is None:
            return {}
        return {a: t for a, t in zip(SET_ATTRIBUTES, held, strict=True) if t}

    def _intern(self, terms: dict[str, frozenset[str]]) -> tuple[frozenset[str], ...]:
        """``terms`` as one frozenset per ``SET_ATTRIBUTES``, each shared with every row
        holding the same set and made of interned strings (thousands of invokers repeat
        ``role=edge``, the same kinds, capabilities, networks and cached models)."""
        shared = self._shared
        held = []
        for attribute in SET_ATTRIBUTES:
            fs = terms.get(attribute, _EMPTY)
            found = shared.get(fs)
            if found is None:
                if len(shared) > 4 * self.count + 1024:
                    shared.clear()  # churn: forget sets no row may hold any more
                found = frozenset(sys.intern(t) for t in fs)
                shared[found] = found
            held.append(found)
        return tuple(held)

    def _set_terms(self, row: int, terms: tuple[frozenset[str], ...] | None) -> None:
        old = self._terms[row] or _NO_TERMS
        new = terms or _NO_TERMS
        arrays = self._arrays
        for attribute, before, after in zip(SET_ATTRIBUTES, old, new, strict=True):
            if before is after:
                continue
            members = self.members[attribute]
            for term in before - after:
                rows = members[term]
                _discard(rows, row)
                if not rows:
                    del members[term]
                arrays.pop((attribute, term), None)
            for term in after - before:
                found = members.get(term)
                if found is None:
                    members[term] = array("i", (row,))
                else:
                    found.append(row)
                arrays.pop((attribute, term), None)
        self._terms[row] = terms

    def nbytes(self) -> int:
        """Bytes held by the numpy columns (the sets are measured with tracemalloc)."""
        return sum(col.nbytes for col in self.cols.values())


_EMPTY: frozenset[str] = frozenset()
_NO_TERMS = (_EMPTY,) * len(SET_ATTRIBUTES)


def _discard(rows: array[int], row: int) -> None:
    """Remove ``row`` from the unordered ``rows`` (swap with the last, O(1) after finding it;
    numpy finds it in a big array, where ``array.remove`` would compare element by element)."""
    if len(rows) < 256:
        at = rows.index(row)
    else:
        at = int(np.flatnonzero(np.frombuffer(rows, np.int32) == row)[0])
    rows[at] = rows[-1]
    rows.pop()


def encode_context(name: str, value: Any) -> float:
    """A live-context value as its column holds it: a battery level (-1: none), else the
    tri-state of a flag (-1: not reported)."""
    if value is None:
        return -1
    return float(value) if name == "battery" else int(bool(value))


def decode_context(name: str, held: float) -> Any:
    """``encode_context`` undone (snapshots)."""
    if held < 0:
        return None
    return round(float(held), 6) if name == "battery" else bool(held)


def terms_of(s: InvokerState) -> dict[str, frozenset[str]]:
    """The set-valued attributes of ``s``, by attribute name (empty ones left out)."""
    terms = {
        "kind": s.kinds,
        "capability": s.capabilities,
        "network": s.networks,
        "label": frozenset(f"{k}={v}" for k, v in s.labels.items()),
        "namespace": (frozenset({OPEN_NAMESPACE}) if s.namespaces is None else s.namespaces),
        "cached": s.cached,
        "owner": frozenset() if s.owner is None else frozenset({s.owner}),
    }
    return {k: frozenset(v) for k, v in terms.items() if v}


def union(arrays: Iterable[Rows]) -> Rows:
    """Sorted union of sorted row arrays (no numpy call when at most one is non-empty)."""
    found = [a for a in arrays if len(a)]
    if not found:
        return np.zeros(0, np.intp)
    return found[0] if len(found) == 1 else np.unique(np.concatenate(found))


class View:
    """The columns and membership questions over all rows (``rows`` None) or some rows.

    Plugins read only this, so the same plugin code scores the whole cluster at once (the
    engine) or one invoker (the reference). Results are arrays over the view's rows.
    """

    def __init__(self, state: ClusterState, rows: Rows | None = None) -> None:
        """``rows``: sorted state rows (None: all rows)."""
        self.state = state
        self.rows = rows
        self.size = state.n if rows is None else len(rows)
        self._cols: dict[str, tuple[int, Vector]] = {}
        self._found: dict[int, tuple[Rows, Rows]] = {}

    def col(self, name: str) -> Vector:
        """Column ``name`` over the view's rows; read-only (a row view caches what it
        gathered until the next state change, so several plugins share one gather)."""
        col = self.state.cols[name]
        if self.rows is None:
            return col[: self.state.n]
        hit = self._cols.get(name)
        if hit is not None and hit[0] == self.state.changes:
            return hit[1]
        gathered: Vector = col[self.rows]
        self._cols[name] = (self.state.changes, gathered)
        return gathered

    def has_any(self, attribute: str, terms: Iterable[str]) -> Mask:
        """Rows whose set ``attribute`` holds at least one of ``terms``."""
        mask = np.zeros(self.size, np.bool_)
        for term in terms:
            mask |= self._has(attribute, term)
        return mask

    def has_all(self, attribute: str, terms: Iterable[str]) -> Mask:
        """Rows whose set ``attribute`` holds every one of ``terms``."""
        mask = np.ones(self.size, np.bool_)
        for term in terms:
            mask &= self._has(attribute, term)
        return mask

    def count(self, attribute: str, terms: Iterable[str]) -> Vector:
        """How many of ``terms`` each row's set ``attribute`` holds."""
        counts = np.zeros(self.size, np.int32)
        for term in terms:
            counts += self._has(attribute, term)
        return counts

    def is_id(self, id: str) -> Mask:
        row = self.state.index.get(id, -1)
        if self.rows is None:
            mask = np.zeros(self.size, np.bool_)
            if row >= 0:
                mask[row] = True
            return mask
        found: Mask = self.rows == row
        return found

    def code(self, attribute: str, name: str) -> int:
        return self.state.code(attribute, name)

    def names(self, attribute: str) -> list[str]:
        return self.state.names[attribute]

    def warm(self, action: str) -> Rows:
        """Positions (within the view) of rows holding a warm container of ``action``."""
        rows = self.state.warm_rows(action)
        return rows if self.rows is None else self._positions(rows)

    def artifact_size(self, key: str) -> int:
        return self.state.sizes.get(key, 0)

    def run_ms(self, action: str, default: float) -> float:
        return self.state.run_ms.get(action, default)

    def rows_with_any(self, attribute: str, terms: Iterable[str]) -> Rows:
        """Sorted state rows whose set ``attribute`` holds one of ``terms`` (whole cluster)."""
        return union(self.state.rows_of(attribute, term) for term in terms)

    def _has(self, attribute: str, term: str) -> Mask:
        members = self.state.rows_of(attribute, term)
        mask = np.zeros(self.size, np.bool_)
        if self.rows is None:
            mask[members] = True
        elif len(members) <= len(self.rows):
            mask[self._positions(members)] = True
        elif len(members):  # few rows in a big set: look each row up in the set
            at = np.minimum(np.searchsorted(members, self.rows), len(members) - 1)
            mask = members[at] == self.rows
        return mask

    def _positions(self, members: Rows) -> Rows:
        """Positions in this view of those of ``members`` (sorted state rows) it covers.

        Cached per ``members`` array: the state replaces that array whenever its set changes.
        """
        assert self.rows is not None
        hit = self._found.get(id(members))
        if hit is not None and hit[0] is members:
            return hit[1]
        if len(self._found) > 64:
            self._found.clear()
        found = self._find(members)
        self._found[id(members)] = (members, found)
        return found

    def _find(self, members: Rows) -> Rows:
        assert self.rows is not None
        at = np.searchsorted(self.rows, members)
        inside = at < self.size
        at, members = at[inside], members[inside]
        found: Rows = at[self.rows[at] == members]
        return found
