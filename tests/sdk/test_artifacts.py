"""Artifact handles load what save_artifact wrote, with real numpy and real MXNet Gluon.

The tests that need MXNet are marked ``mxnet`` (it comes with the ``ai`` extra, which pins
numpy<1.24); the others run on numpy 2 as well."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edgewhisk import ArtifactError, ArtifactHandle, save_artifact


def mx() -> Any:
    """MXNet, imported only by the tests marked ``mxnet``."""
    import mxnet

    return mxnet


def handle(path: Path, format: str | None = None) -> ArtifactHandle:
    return ArtifactHandle("data", "thing", "u1/thing", lambda: path, format)


def ran_once(block: Any) -> Any:
    block.hybridize()
    block(mx().nd.ones((1, 3)))
    return block


def small_net() -> Any:
    net = mx().gluon.nn.HybridSequential()
    net.add(mx().gluon.nn.Dense(4, activation="relu"), mx().gluon.nn.Dense(2))
    net.initialize(mx().init.Xavier(), ctx=mx().cpu())
    return net


ROUND_TRIPS: list[tuple[str, Callable[[], Any], str, Callable[[Any, Any], bool]]] = [
    ("bytes are stored as a file and load as bytes", lambda: b"\x00raw", "bytes",
     lambda saved, loaded: loaded == saved),
    ("a numpy array is stored as npz under arr_0", lambda: np.arange(6.0).reshape(2, 3), "npz",
     lambda saved, loaded: np.array_equal(loaded["arr_0"], saved)),
    ("a dict of arrays is stored as npz", lambda: {"x": np.ones(3), "y": np.arange(2)}, "npz",
     lambda saved, loaded: loaded.keys() == saved.keys()
     and all(np.array_equal(loaded[k], saved[k]) for k in saved)),
    ("a JSON dict is stored as json", lambda: {"accuracy": 0.9, "labels": ["a", "b"]}, "json",
     lambda saved, loaded: loaded == saved),
    ("a JSON list is stored as json", lambda: [1, 2, {"a": None}], "json",
     lambda saved, loaded: loaded == saved),
    ("an mxnet NDArray is stored as npz", lambda: mx().nd.array([1.0, 2.0]), "npz",
     lambda saved, loaded: np.array_equal(loaded["arr_0"], saved.asnumpy())),
]


@pytest.mark.parametrize(("make", "format", "same"),
                         [pytest.param(m, f, s, id=i, marks=[pytest.mark.mxnet] * ("mxnet" in i))
                          for i, m, f, s in ROUND_TRIPS])
def test_saved_values_load_back(tmp_path: Path, make: Callable[[], Any], format: str,
                                same: Callable[[Any, Any], bool]) -> None:
    value = make()
    path, saved_format = save_artifact(value, tmp_path / "out")
    assert saved_format == format
    assert path.parent == tmp_path / "out"
    assert handle(path).format == format
    assert same(value, handle(path).load())


@pytest.mark.mxnet
def test_a_gluon_block_is_exported_and_imports_as_a_symbol_block(tmp_path: Path) -> None:
    net = ran_once(small_net())
    x = mx().nd.array([[0.1, 0.2, 0.3]])
    path, format = save_artifact(net, tmp_path)
    assert format == "mxnet-gluon"
    assert sorted(p.name for p in path.iterdir()) == ["model-0000.params", "model-symbol.json"]
    model = ArtifactHandle("model", "base", None, lambda: path).load()
    assert isinstance(model, mx().gluon.SymbolBlock)
    np.testing.assert_allclose(model(x).asnumpy(), net(x).asnumpy(), rtol=1e-6)


@pytest.mark.mxnet
def test_a_gluon_block_that_never_ran_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"hybridize\(\) and run it forward once"):
        save_artifact(small_net(), tmp_path)


@pytest.mark.mxnet
def test_a_non_hybrid_gluon_block_is_refused(tmp_path: Path) -> None:
    block = mx().gluon.nn.Sequential()
    block.add(mx().gluon.nn.Dense(1))
    with pytest.raises(ArtifactError, match="not a HybridBlock"):
        save_artifact(block, tmp_path)


COPIES = [
    ("an npy file keeps its format", "a.npy", lambda p: np.save(p, np.ones(2)), "npy"),
    ("a json file keeps its format", "m.json", lambda p: p.write_text("{}"), "json"),
    ("an unknown suffix is bytes", "w.bin", lambda p: p.write_bytes(b"x"), "bytes"),
    ("a plain folder is a directory", "d", lambda p: (p.mkdir(), (p / "f").write_text("1")),
     "directory"),
]


@pytest.mark.parametrize(("name", "write", "format"),
                         [pytest.param(n, w, f, id=i) for i, n, w, f in COPIES])
def test_existing_paths_are_copied(tmp_path: Path, name: str, write: Callable[[Path], Any],
                                   format: str) -> None:
    source = tmp_path / "src" / name
    source.parent.mkdir()
    write(source)
    for value in (source, str(source)):
        path, saved_format = save_artifact(value, tmp_path / "dest")
        assert (path, saved_format) == (tmp_path / "dest" / name, format)
        assert path.exists()


@pytest.mark.mxnet
def test_an_exported_model_folder_is_copied_as_a_model(tmp_path: Path) -> None:
    exported, _ = save_artifact(ran_once(small_net()), tmp_path / "a")
    path, format = save_artifact(exported, tmp_path / "b")
    assert format == "mxnet-gluon"
    assert isinstance(handle(path).load(), mx().gluon.SymbolBlock)


REFUSED = [
    ("a string that is no existing path", "no/such/file", "not an existing file"),
    ("an integer", 3, "cannot store a int"),
    ("a dict that is not JSON", {"f": object()}, "as JSON"),
    ("a NaN in JSON", {"x": float("nan")}, "as JSON"),
    ("an object array", {"a": np.array([object()])}, "Python objects"),
]


@pytest.mark.parametrize(("value", "words"), [pytest.param(v, w, id=i) for i, v, w in REFUSED])
def test_unsupported_values_are_refused(tmp_path: Path, value: Any, words: str) -> None:
    with pytest.raises(ArtifactError, match=words):
        save_artifact(value, tmp_path)


def test_a_handle_locates_lazily_and_once(tmp_path: Path) -> None:
    calls: list[int] = []
    target = tmp_path / "x.json"
    target.write_text(json.dumps({"a": 1}))

    def locate() -> Path:
        calls.append(1)
        return target

    h = ArtifactHandle("data", "x", "u/x", locate)
    assert calls == []
    assert h.load() == {"a": 1}
    with h.open() as file:
        assert json.load(file) == {"a": 1}
    assert h.path == target
    assert calls == [1]


def test_an_explicit_format_wins_over_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("{}")
    assert handle(target, "bytes").load() == b"{}"


def test_a_locate_failure_is_an_artifact_error() -> None:
    def locate() -> Path:
        raise FileNotFoundError("no u1/glucose in the store")

    with pytest.raises(ArtifactError, match="cannot locate artifact 'x'"):
        _ = ArtifactHandle("data", "x", "u1/glucose", locate).path


def test_a_folder_cannot_be_opened_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="is a folder"):
        handle(tmp_path).open()


def test_handles_are_path_like(tmp_path: Path) -> None:
    target = tmp_path / "a.npy"
    np.save(target, np.arange(3))
    assert np.array_equal(np.load(handle(target)), np.arange(3))
