"""The public surface of ``edgewhisk`` is a contract: other components code against it."""

from __future__ import annotations

import subprocess
import sys

import edgewhisk

PUBLIC = {
    "FORMATS", "SCHEMA_VERSION", "AnnotationError", "ArtifactError", "ArtifactHandle",
    "EdgewhiskError", "Output", "Record", "bind", "consumes", "describe", "detect_format", "gate",
    "invoker_resources", "parse_duration", "parse_predicate", "policy", "predicate_holds",
    "produces", "records", "save_artifact", "validate", "variables",
}


def test_all_is_exactly_the_public_contract() -> None:
    assert set(edgewhisk.__all__) == PUBLIC
    assert len(edgewhisk.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert getattr(edgewhisk, name) is not None


def test_annotation_error_carries_path_and_reason() -> None:
    error = edgewhisk.AnnotationError("consumes[1].locality", "bad")
    assert (error.path, error.reason, str(error)) == ("consumes[1].locality", "bad",
                                                      "consumes[1].locality: bad")
    assert isinstance(error, ValueError)
    assert isinstance(error, edgewhisk.EdgewhiskError)


def test_importing_the_sdk_loads_neither_numpy_nor_mxnet() -> None:
    code = ("import sys, edgewhisk; "
            "print(sorted(m for m in ('numpy', 'mxnet') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_annotation_error_survives_pickling_across_processes() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(edgewhisk.AnnotationError("gates[0].target", "missing")))
    assert (error.path, error.reason) == ("gates[0].target", "missing")
