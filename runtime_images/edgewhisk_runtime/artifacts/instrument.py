"""The action process's part of the gates: instrument a served model, measure a produced one,
and record the training reference of a model produced from staged data.

Why here, in the action process: the model lives there (``main`` loads it through its
artifact handle and calls it), so counting what it sees costs no copy across processes; only
a small summary per model and activation goes back to the proxy, next to the result (the
launcher's reply), where the gate stage keeps the windows and decides. numpy is imported with
this module, which the launcher imports only for an activation that needs it; MXNet is never
imported here (the model already is an MXNet object when it arrives).

- **Drift** (``Observer``): ``ArtifactHandle.load()`` hands every loaded object of a model a
  drift gate watches to :meth:`Observer.instrument`; a Gluon block gets a forward hook (the
  block itself is returned unchanged, so ``main`` may train, export or return it). Each
  forward pass adds its rows: the rescaled top-class confidence of the outputs and, against
  the model's training reference, the rows per feature bin.
- **Bias** (:func:`bias_groups`): the produced model's positive rate per group of an
  attribute, on a consumed data artifact (an npz with the model's input ``X`` and the
  attribute as an array).
- **Reference** (:func:`reference_of`): feature histograms (deciles of the training rows) of
  the first consumed data artifact with an input matrix (an npz's ``X``, or a 2-D npy).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_BINS = 10
MAX_FEATURES = 256
"""Inputs wider than this get no reference (its histograms would outgrow the metadata)."""
MAX_REFERENCE_ROWS = 100_000
MAX_GROUPS = 50
BATCH = 4096
BROADCAST_ROWS = 32
MAX_VERSIONS = 1024
"""Model versions whose bins one action process keeps: more than the gate stage remembers
having sent (``gates.MAX_REFERENCES``), so it never counts on bins evicted here."""


class MeasureError(Exception):
    """A gate's measurement cannot be made; the message says why (the gate stage names the
    gate)."""


def input_matrix(path: str | Path, fmt: str | None) -> Any:
    """The input matrix of a data artifact: an npz's ``X``, or a 2-D npy; else None."""
    try:
        if fmt == "npz":
            with np.load(path, allow_pickle=False) as archive:
                matrix = archive["X"] if "X" in archive.files else None
        elif fmt == "npy":
            matrix = np.load(path, mmap_mode="r", allow_pickle=False)
        else:
            return None
    except (OSError, ValueError):
        return None
    if matrix is None or matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number):
        return None
    return matrix


def reference_of(matrix: Any, source: str, features: Any = None) -> dict[str, Any] | None:
    """Deciles per feature of (at most ``MAX_REFERENCE_ROWS``) training rows, and the rows
    per bin; None for an empty or too wide matrix."""
    rows = np.asarray(matrix[:MAX_REFERENCE_ROWS], dtype=np.float64)
    if rows.shape[0] == 0 or not 0 < rows.shape[1] <= MAX_FEATURES:
        return None
    names = [str(f) for f in features] if isinstance(features, list) and \
        len(features) == rows.shape[1] else [str(j) for j in range(rows.shape[1])]
    quantiles = np.linspace(0, 1, REFERENCE_BINS + 1)[1:-1]
    edges, counts = [], []
    for column in rows.T:
        inner = np.unique(np.quantile(column, quantiles)).astype(np.float32)
        edges.append([float(e) for e in inner])
        counts.append(np.bincount(np.searchsorted(inner, column, side="left"),
                                  minlength=len(inner) + 1).tolist())
    return {"source": source, "rows": int(rows.shape[0]), "features": names, "edges": edges,
            "counts": counts}


def top_confidence(outputs: Any) -> Any:
    """Per row, the top class's probability rescaled so that a uniform guess is 0 and
    certainty 1: (top - 1/k) / (1 - 1/k). Logits are soft-maxed (one column: a sigmoid),
    rows that already are probabilities are taken as they are."""
    out = np.asarray(outputs, dtype=np.float64)
    out = out.reshape(out.shape[0], -1) if out.ndim != 2 else out
    if out.shape[1] == 1:
        p = out[:, 0]
        if p.min(initial=0.0) < 0 or p.max(initial=0.0) > 1:
            p = 1 / (1 + np.exp(-p))
        return np.abs(2 * p - 1)
    top = out.max(axis=1)
    if out.min() < 0 or np.abs(out.sum(axis=1) - 1).max() > 1e-3:  # logits
        top = 1 / np.exp(out - top[:, None]).sum(axis=1)  # the softmax of the largest
    k = out.shape[1]
    return (top - 1 / k) / (1 - 1 / k)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list | tuple) and value else value


def _numpy(value: Any) -> Any:
    """An NDArray (or numpy array) as numpy; None for a symbol or anything else."""
    if hasattr(value, "asnumpy"):
        return value.asnumpy()
    return value if isinstance(value, np.ndarray) else None


class Bins:
    """A reference's inner edges, padded to one matrix so that one comparison bins every
    feature of a batch at once: the bin of v is the number of edges below it (the first bin
    whose upper edge is >= v, as ``reference_of`` counted)."""

    def __init__(self, edges: Sequence[Sequence[float]]) -> None:
        self.sizes = [len(e) + 1 for e in edges]
        width = max(self.sizes) - 1
        self.edges = np.full((len(edges), max(width, 1)), np.inf, dtype=np.float32)
        for j, row in enumerate(edges):
            self.edges[j, :len(row)] = row
        self.offsets = np.arange(len(edges)) * (width + 1)
        self.cells = len(edges) * (width + 1)
        real = np.concatenate([offset + np.arange(size)
                               for offset, size in zip(self.offsets, self.sizes, strict=True)])
        self.real = None if len(real) == self.cells else real  # the cells padding leaves out

    def count(self, x: Any) -> Any:
        """Rows per (feature, bin) of a batch ``x`` (rows x features), as one flat array:
        one broadcast comparison for a small batch, a search per feature for a large one
        (which is faster past a few dozen rows)."""
        if len(x) <= BROADCAST_ROWS:
            index = (x[:, :, None] > self.edges[None, :, :]).sum(axis=2) + self.offsets
        else:
            index = np.stack([np.searchsorted(self.edges[j], x[:, j], side="left")
                              for j in range(len(self.sizes))], axis=1) + self.offsets
        return np.bincount(index.ravel(), minlength=self.cells)

    def lists(self, counts: Any) -> list[list[int]]:
        """Flat counts as one list per feature, each as long as the feature's bins."""
        rows = counts.reshape(len(self.sizes), -1)
        return [rows[j, :size].tolist() for j, size in enumerate(self.sizes)]

    def packed(self, counts: Any) -> str:
        """Flat counts as the proxy reads them (``monitor.Summary.parse``): each feature's
        bins in turn, unsigned 32-bit little-endian, base64. Why not lists: a list per
        feature costs an object per count to encode here and to decode in the proxy on every
        /run; these bytes are one copy each way, and what the proxy's window keeps."""
        real = counts if self.real is None else counts[self.real]
        return base64.b64encode(real.astype("<u4").tobytes()).decode("ascii")


class _Tally:
    """One watched model's forward passes in this activation."""

    __slots__ = ("rows", "confidence", "counts")

    def __init__(self) -> None:
        self.rows = 0
        self.confidence = 0.0
        self.counts: Any = None


class Observer:
    """The forward passes of the models drift gates watch, summarised per activation.

    Hooks stay on a block for as long as it lives (an action may keep its model between
    activations); :meth:`start` begins the next activation's summaries. A model's reference
    edges arrive once per model version (the gate stage sends them with the first activation
    that watches that version) and are kept here by version."""

    def __init__(self) -> None:
        self.bins: dict[str, Bins | None] = {}
        self.current: dict[str, _Tally] = {}
        self.paused = False
        self._versions: dict[str, Bins | None] = {}

    def start(self, watched: Mapping[str, Mapping[str, Any]]) -> None:
        """A new activation: fresh summaries for the models watched now (by consumed name:
        ``{"key": version, "edges": [[...], ...] | None}``, edges only the first time)."""
        for spec in watched.values():
            if "edges" in spec:
                edges, key = spec["edges"], str(spec["key"])
                self._versions.pop(key, None)  # a version sent again counts as the newest
                self._versions[key] = Bins(edges) if edges else None
                while len(self._versions) > MAX_VERSIONS:  # the proxy sends them again
                    del self._versions[next(iter(self._versions))]
        self.bins = {name: self._versions.get(str(spec["key"]))
                     for name, spec in watched.items()}
        self.current = {}

    def instrument(self, name: str, value: Any) -> Any:
        """``ArtifactHandle``'s ``on_load``: hook a Gluon block, pass anything else through."""
        register = getattr(value, "register_forward_hook", None)
        if callable(register):
            register(lambda block, inputs, output: self.record(name, _first(inputs), output))
        return value

    def record(self, name: str, inputs: Any, output: Any) -> None:
        if self.paused or name not in self.bins:
            return
        x, y = _numpy(inputs), _numpy(_first(output))
        if x is None or y is None or x.ndim < 1 or x.shape[0] == 0:
            return
        tally = self.current.get(name)
        if tally is None:
            tally = self.current[name] = _Tally()
        tally.rows += int(x.shape[0])
        tally.confidence += float(top_confidence(y).sum())
        bins = self.bins[name]
        if bins is not None and x.ndim == 2 and x.shape[1] == len(bins.sizes):
            counts = bins.count(x)
            tally.counts = counts if tally.counts is None else tally.counts + counts

    def summaries(self) -> dict[str, dict[str, Any]]:
        """This activation's summary per watched model that ran (``counts``: ``Bins.packed``,
        ``sizes``: the bins per feature; None without a reference or for other inputs)."""
        out = {}
        for name, tally in self.current.items():
            bins = self.bins.get(name)
            counts = None if tally.counts is None or bins is None or \
                tally.rows >= 2 ** 32 else bins.packed(tally.counts)
            out[name] = {"rows": tally.rows, "confidence": tally.confidence, "counts": counts,
                         **({"sizes": bins.sizes} if counts is not None and bins else {})}
        return out

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """Forward passes inside are not serving (a bias measurement on the same block)."""
        self.paused = True
        try:
            yield
        finally:
            self.paused = False


def _groups(values: Any, bins: Sequence[float] | None) -> tuple[Any, list[str]]:
    """(group index per row, group labels): intervals between ``bins``, else the values."""
    if bins:
        edges = [float(b) for b in bins]
        labels = [f"<{edges[0]:g}", *(f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:],
                                                                     strict=False)),
                  f">={edges[-1]:g}"]
        return np.searchsorted(np.asarray(edges), np.asarray(values, dtype=np.float64),
                               side="right"), labels
    distinct, index = np.unique(np.asarray(values), return_inverse=True)
    if len(distinct) > MAX_GROUPS:
        raise MeasureError(f"the attribute has {len(distinct)} distinct values; give bins=[...] "
                           "to group them")
    return index, [str(v) for v in distinct.tolist()]


def _positives(block: Any, x: Any) -> Any:
    """Whether the model's answer for each row is positive: class 1 is its top class (one
    output column: a probability, or a logit, of at least one half)."""
    import mxnet  # the block is an MXNet object already: this import is free

    flags = []
    for start in range(0, len(x), BATCH):
        out = np.asarray(block(mxnet.nd.array(x[start:start + BATCH])).asnumpy(),
                         dtype=np.float64)
        out = out.reshape(out.shape[0], -1)
        if out.shape[1] == 1:
            threshold = 0.5 if 0 <= out.min(initial=0.0) and out.max(initial=0.0) <= 1 else 0.0
            flags.append(out[:, 0] >= threshold)
        else:
            flags.append(out.argmax(axis=1) == 1)
    return np.concatenate(flags) if flags else np.zeros(0, dtype=bool)


def bias_groups(block: Any, data: str | Path, fmt: str | None, attribute: str,
                bins: Sequence[float] | None) -> dict[str, list[int]]:
    """``{group: [positives, rows]}`` of the produced ``block`` on the evaluation data."""
    if not hasattr(block, "register_forward_hook"):
        raise MeasureError(f"the produced model is a {type(block).__name__}, not an MXNet "
                           "Gluon block; measuring bias runs it")
    if fmt != "npz":
        raise MeasureError(f"the evaluation data is {fmt}; it must be an npz with the model's "
                           f"input X and the attribute {attribute!r}")
    with np.load(data, allow_pickle=False) as archive:
        missing = [k for k in ("X", attribute) if k not in archive.files]
        if missing:
            raise MeasureError(f"the evaluation data has no array {' or '.join(map(repr, missing))}"
                               f" (it has {', '.join(archive.files)})")
        x, values = archive["X"], archive[attribute]
    if len(values) != len(x):
        raise MeasureError(f"X has {len(x)} rows but {attribute!r} has {len(values)}")
    index, labels = _groups(values, bins)
    positive = _positives(block, np.asarray(x, dtype=np.float32))
    return {label: [int(positive[index == g].sum()), int((index == g).sum())]
            for g, label in enumerate(labels)}


def measure_bias(result: Mapping[str, Any], requests: Sequence[Mapping[str, Any]],
                 consumes: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each requested bias measurement (``{"gate", "target", "data", "attribute", "bins"}``)
    whose target ``main`` produced: ``{gate: {"groups": ...}}`` or ``{gate: {"error": ...}}``."""
    from edgewhisk.output import unwrap

    inputs = {item["name"]: item for item in consumes}
    out: dict[str, dict[str, Any]] = {}
    for request in requests:
        if request["target"] not in result:
            continue  # not produced this time: nothing to measure
        block = unwrap(result[request["target"]])[0]
        data = inputs.get(request["data"])
        try:
            if data is None:
                raise MeasureError(f"the evaluation data {request['data']!r} was not staged")
            groups = bias_groups(block, data["path"], data.get("format"),
                                 request["attribute"], request.get("bins"))
            out[str(request["gate"])] = {"groups": groups}
        except MeasureError as exc:
            out[str(request["gate"])] = {"error": str(exc)}
        except Exception as exc:  # the model failed on the data: say so, never pass silently
            out[str(request["gate"])] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def training_reference(consumes: Sequence[Mapping[str, Any]],
                       features: Any = None) -> dict[str, Any] | None:
    """The reference of the first consumed data artifact with an input matrix, or None."""
    for item in consumes:
        if item.get("kind") != "data":
            continue
        matrix = input_matrix(item["path"], item.get("format"))
        if matrix is not None:
            return reference_of(matrix, str(item.get("key") or item.get("ref") or item["name"]),
                                features)
    return None
