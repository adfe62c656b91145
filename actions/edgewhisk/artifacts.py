"""Artifact handles (what a decorated main receives) and ``save_artifact`` (what it returns).

A handle is a lazy proxy: nothing is located, copied or loaded until the function asks for
``.path``, ``.open()`` or ``.load()`` — an action that only needs a model's path never pays for
reading it. Formats are plain strings that travel in artifact references:

==============  =========================================  ==================================
format          on disk                                    ``.load()`` gives
==============  =========================================  ==================================
``bytes``       any file                                   ``bytes``
``npy``         ``.npy`` file                              ``numpy.ndarray``
``npz``         ``.npz`` file                              ``dict`` of ``numpy.ndarray``
``json``        ``.json`` file                             the JSON value
``mxnet-gluon`` folder with ``*-symbol.json`` + ``*.params``  ``mxnet.gluon.SymbolBlock``
``directory``   any other folder                           its ``pathlib.Path``
==============  =========================================  ==================================

numpy and mxnet are imported only inside the functions that need them, never at import time.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .exceptions import ArtifactError

FORMATS = ("bytes", "npy", "npz", "json", "mxnet-gluon", "directory")
_SUFFIX_FORMATS = {".npy": "npy", ".npz": "npz", ".json": "json"}
GLUON_PREFIX = "model"


def _gluon_files(folder: Path) -> tuple[Path, Path] | None:
    """(symbol file, newest params file) of an exported Gluon model folder, else None."""
    symbols = sorted(folder.glob("*-symbol.json"))
    params = sorted(folder.glob("*.params"))
    if len(symbols) != 1 or not params:
        return None
    return symbols[0], params[-1]


def detect_format(path: Path) -> str:
    """The format of an artifact on disk, from its suffix or (for folders) its contents."""
    if path.is_dir():
        return "mxnet-gluon" if _gluon_files(path) else "directory"
    return _SUFFIX_FORMATS.get(path.suffix.lower(), "bytes")


def _gluon_inputs(symbol_file: Path) -> list[str]:
    # An exported HybridBlock names its inputs 'data' (one input) or 'data0', 'data1', ...
    nodes = json.loads(symbol_file.read_text())["nodes"]
    names = {node["name"] for node in nodes if node.get("op") == "null"}
    if "data" in names:
        return ["data"]
    numbered = sorted((n for n in names if n[4:].isdigit() and n.startswith("data")),
                      key=lambda n: int(n[4:]))
    return numbered or ["data"]


class ArtifactHandle:
    """A consumed artifact, injected into main as a keyword argument named ``name``.

    ``locate`` is called at most once, on first use, and returns the local path of the artifact
    (the runtime's resolver may download it then). ``format`` defaults to what is on disk.
    ``on_load``, given by the runtime, sees every object ``.load()`` returns before ``main``
    does (the drift gate's instrumentation registers itself on a loaded model there).
    """

    def __init__(self, kind: str, name: str, ref: str | None,
                 locate: Callable[[], Path], format: str | None = None,
                 on_load: Callable[[Any], Any] | None = None) -> None:
        self.kind = kind
        self.name = name
        self.ref = ref
        self._locate = locate
        self._path: Path | None = None
        self._format = format
        self._on_load = on_load

    def __repr__(self) -> str:
        return f"ArtifactHandle(kind={self.kind!r}, name={self.name!r}, ref={self.ref!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def path(self) -> Path:
        """The local path (file or folder); located on first access."""
        if self._path is None:
            try:
                self._path = Path(self._locate())
            except ArtifactError:
                raise
            except Exception as exc:
                raise ArtifactError(f"cannot locate artifact {self.name!r}: {exc}") from exc
        return self._path

    @property
    def format(self) -> str:
        if self._format is None:
            self._format = detect_format(self.path)
        return self._format

    def open(self, mode: str = "rb") -> IO[Any]:
        """Open the artifact's file (not for folder formats)."""
        if self.path.is_dir():
            raise ArtifactError(f"artifact {self.name!r} is a folder ({self.format}); use .path")
        return open(self.path, mode)

    def load(self) -> Any:
        """Read the artifact into memory by its format (a fresh object on every call)."""
        value = self._read()
        return value if self._on_load is None else self._on_load(value)

    def _read(self) -> Any:
        path, fmt = self.path, self.format
        if not path.exists():
            raise ArtifactError(f"artifact {self.name!r} is missing at {path}")
        if fmt == "npy":
            import numpy as np

            return np.load(path, allow_pickle=False)
        if fmt == "npz":
            import numpy as np

            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        if fmt == "json":
            return json.loads(path.read_text())
        if fmt == "mxnet-gluon":
            return _load_gluon(path, self.name)
        if fmt == "directory":
            return path
        return path.read_bytes()

    def batches(self, size: int, key: str | None = None) -> Iterator[Any]:
        """Rows of an ``npy``/``npz`` artifact ``size`` at a time (the last batch may be
        shorter), so data larger than memory can be processed.

        ``npy``: slices of a read-only memory map (the file is never read whole). ``npz``:
        with ``key``, slices of that array; without, a dict per batch with a slice of every
        array (they must have the same number of rows). An npz member is read into memory
        one array at a time (numpy cannot memory-map inside a zip)."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ArtifactError(f"artifact {self.name!r}: batches(size) needs a positive "
                                f"integer, got {size!r}")
        fmt = self.format
        if fmt not in ("npy", "npz"):
            raise ArtifactError(f"artifact {self.name!r} is {fmt}; batches() reads npy or npz")
        if key is not None and fmt == "npy":
            raise ArtifactError(f"artifact {self.name!r} is one npy array; key= is for npz")
        import numpy as np

        if fmt == "npy":
            return _rows(np.load(self.path, mmap_mode="r", allow_pickle=False), size)
        return self._npz_batches(size, key)

    def _npz_batches(self, size: int, key: str | None) -> Iterator[Any]:
        import numpy as np

        with np.load(self.path, allow_pickle=False) as archive:
            if key is not None:
                if key not in archive.files:
                    raise ArtifactError(f"artifact {self.name!r} has no array {key!r} "
                                        f"(it has {', '.join(archive.files)})")
                yield from _rows(archive[key], size)
                return
            arrays = {name: archive[name] for name in archive.files}
        lengths = {name: len(a) if a.ndim else None for name, a in arrays.items()}
        if len(set(lengths.values())) > 1 or None in lengths.values():
            raise ArtifactError(f"artifact {self.name!r}: arrays differ in rows {lengths}; "
                                f"pass key= to batch one of them")
        rows = next(iter(lengths.values()), 0) or 0
        for start in range(0, rows, size):
            yield {name: a[start:start + size] for name, a in arrays.items()}


def _rows(array: Any, size: int) -> Iterator[Any]:
    if array.ndim == 0:
        raise ArtifactError("a 0-d array has no rows to batch")
    for start in range(0, len(array), size):
        yield array[start:start + size]


def _load_gluon(folder: Path, name: str) -> Any:
    files = _gluon_files(folder)
    if files is None:
        raise ArtifactError(f"artifact {name!r}: {folder} holds no exported Gluon model")
    import mxnet

    symbol_file, params_file = files
    with warnings.catch_warnings():
        # imports() warns that it cannot infer the input dtype; float32 is what export wrote.
        warnings.simplefilter("ignore", UserWarning)
        return mxnet.gluon.SymbolBlock.imports(
            str(symbol_file), _gluon_inputs(symbol_file), str(params_file)
        )


def save_artifact(value: Any, dest_dir: Path, name: str = "artifact") -> tuple[Path, str]:
    """Write a produced value into ``dest_dir`` and return ``(path, format)``.

    * ``bytes`` -> ``NAME.bin`` (``bytes``)
    * a numpy array, or a dict of numpy arrays -> ``NAME.npz`` (``npz``; a lone array is
      stored as ``arr_0``, numpy's default)
    * an mxnet Gluon ``HybridBlock`` -> folder ``NAME/`` with ``model-symbol.json`` and
      ``model-0000.params`` (``mxnet-gluon``). The block must have been hybridized and run
      forward once, because export needs the traced graph.
    * a ``str``/``PathLike`` of an existing file or folder -> copied (format by suffix/contents)
    * a JSON-serialisable dict or list -> ``NAME.json`` (``json``)
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    np = sys.modules.get("numpy")
    mx = sys.modules.get("mxnet")
    if isinstance(value, bytes | bytearray | memoryview):
        path = dest_dir / f"{name}.bin"
        path.write_bytes(bytes(value))
        return path, "bytes"
    if mx is not None and isinstance(value, mx.nd.NDArray):
        value = value.asnumpy()
    if np is not None and _is_arrays(value, np):
        return _save_npz(value, dest_dir / f"{name}.npz", np), "npz"
    if mx is not None and isinstance(value, mx.gluon.Block):
        return _save_gluon(value, dest_dir / name, mx), "mxnet-gluon"
    if isinstance(value, str | os.PathLike):
        return _copy(Path(value), dest_dir)
    if isinstance(value, dict | list):
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"cannot store this {type(value).__name__} as JSON: {exc}") from exc
        path = dest_dir / f"{name}.json"
        path.write_text(text)
        return path, "json"
    raise ArtifactError(
        f"cannot store a {type(value).__name__} as an artifact; return bytes, a numpy array or a "
        "dict of arrays, a Gluon HybridBlock, the path of a file or folder, or a JSON dict/list"
    )


def _is_arrays(value: Any, np: Any) -> bool:
    if isinstance(value, np.ndarray):
        return True
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(v, np.ndarray) for v in value.values()))


def _save_npz(value: Any, path: Path, np: Any) -> Path:
    arrays = {"arr_0": value} if isinstance(value, np.ndarray) else value
    for key, array in arrays.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ArtifactError(f"array names must be non-empty strings without '/': {key!r}")
        if array.dtype.hasobject:
            raise ArtifactError(f"array {key!r} holds Python objects; npz stores numbers only")
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    return path


def _save_gluon(block: Any, folder: Path, mx: Any) -> Path:
    if not isinstance(block, mx.gluon.HybridBlock):
        raise ArtifactError(
            f"{type(block).__name__} is a Gluon Block but not a HybridBlock; only HybridBlocks "
            "can be exported (use HybridSequential/HybridBlock)"
        )
    if not getattr(block, "_cached_graph", None):
        raise ArtifactError(
            f"cannot export {type(block).__name__}: call block.hybridize() and run it forward "
            "once (e.g. block(x)) before returning it, so its graph can be exported"
        )
    folder.mkdir(parents=True, exist_ok=True)
    try:
        block.export(str(folder / GLUON_PREFIX), epoch=0)
    except Exception as exc:  # mxnet raises plain RuntimeError/MXNetError
        raise ArtifactError(f"exporting {type(block).__name__} failed: {exc}") from exc
    return folder


def _copy(source: Path, dest_dir: Path) -> tuple[Path, str]:
    if not source.exists():
        raise ArtifactError(
            f"{str(source)!r} is not an existing file or folder; to store text return "
            "bytes (text.encode()) or a JSON dict/list"
        )
    target = dest_dir / source.name
    if source.resolve() != target.resolve():
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    return target, detect_format(target)
