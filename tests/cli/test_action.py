"""``edgewhisk action annotation|build``, run as the real console script in a subprocess."""

from __future__ import annotations

import base64
import io
import json
import shlex
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
from edgewhisk import describe
from edgewhisk_cli.action import DEFAULT_IMAGE, action_document, package_action

SDK_TESTS = Path(__file__).resolve().parents[1] / "sdk"
DESIGN_FILE = SDK_TESTS / "design_example.py"
EDGEWHISK = Path(sys.executable).with_name("edgewhisk")


def edgewhisk(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert EDGEWHISK.exists(), "install the project first: .venv/bin/pip install -e '.[ai,test]'"
    return subprocess.run([str(EDGEWHISK), *map(str, argv)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


GPU_ACTION = """
    import helper
    from edgewhisk import consumes, policy
    print("printed while importing")

    @consumes.data("{usr}/glucose", name="readings")
    @policy.fn(node="{usr}_device", capability=["gpu", "arm64"], strict=True)
    def main(args, readings):
        raise RuntimeError("main must not run while reading the annotation")
"""


@pytest.fixture
def gpu_action(tmp_path: Path) -> Path:
    write(tmp_path, "helper.py", "VALUE = 1\n")
    return write(tmp_path, "gpu_action.py", GPU_ACTION)


def test_annotation_prints_describe_of_the_design_example() -> None:
    from sdk import design_example

    done = edgewhisk("action", "annotation", DESIGN_FILE)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == describe(design_example.main)


def test_annotation_imports_helpers_beside_the_file_and_keeps_stdout_clean(
        gpu_action: Path) -> None:
    done = edgewhisk("action", "annotation", gpu_action, cwd=Path("/"))
    assert done.returncode == 0, done.stderr
    annotation = json.loads(done.stdout)  # nothing but the JSON on stdout
    assert annotation["policies"] == [{"type": "fn", "node": "{usr}_device",
                                       "capability": ["gpu", "arm64"], "strict": True}]


FAILURES = [
    ("an import that hangs is stopped at the timeout",
     "import time\ntime.sleep(600)\ndef main(args): pass\n", "did not finish within 2 s"),
    ("an import that raises names the exception and line",
     "x = 1\nraise ValueError('boom\\nmore')\ndef main(args): pass\n",
     "importing it raised ValueError (line 2): boom more"),
    ("a syntax error is reported",
     "def main(args):\n    return (\n", "importing it raised SyntaxError"),
    ("an import that calls sys.exit is reported", "import sys\nsys.exit(3)\n",
     "importing it raised SystemExit"),
    ("an import that kills the interpreter is reported", "import os\nos._exit(7)\n",
     "ended the interpreter (exit status 7)"),
    ("a file without main is refused", "def handler(args): pass\n", "defines no main function"),
    ("a main that is not callable is refused", "main = 3\n", "its main is a int"),
    ("a bad decorator argument is an invalid annotation with its line",
     "from edgewhisk import gate\n\n@gate.bias('age', '<<0.8')\ndef main(args): pass\n",
     "invalid annotation (line 3): @gate.bias.predicate: '<<0.8' is not a predicate"),
    ("a variable bound nowhere is an invalid annotation",
     "from edgewhisk import policy\n\n@policy.fn(node='{dev}_device')\ndef main(args): pass\n",
     "invalid annotation: policies[0].node: variable {dev} is bound nowhere"),
]


@pytest.mark.parametrize(("source", "words"),
                         [pytest.param(s, w, id=i) for i, s, w in FAILURES])
def test_annotation_failures_are_one_line_and_exit_2(tmp_path: Path, source: str,
                                                     words: str) -> None:
    action = tmp_path / "action.py"
    action.write_text(source)
    done = edgewhisk("action", "annotation", action, "--import-timeout", "2")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"edgewhisk action annotation: error: {action}: ")
    assert words in done.stderr, done.stderr


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    done = edgewhisk("action", "annotation", tmp_path / "nope.py")
    assert (done.returncode, done.stderr.strip()) == (
        2, f"edgewhisk action annotation: error: {tmp_path / 'nope.py'}: no such file")


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_a_hanging_import_is_killed_with_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    source = f"""
        import os, subprocess, time
        sleeper = subprocess.Popen(["sleep", "600"])
        open({str(pid_file)!r}, "w").write(f"{{os.getpid()}} {{sleeper.pid}}")
        time.sleep(600)
    """
    done = edgewhisk("action", "annotation", write(tmp_path, "hang.py", source),
                     "--import-timeout", "6")
    assert done.returncode == 2, done.stderr
    pids = [int(p) for p in pid_file.read_text().split()]
    try:
        assert [pid for pid in pids if _running(pid)] == []
    finally:
        for pid in pids:  # never leave a sleeper behind, even when the assertion fails
            if _running(pid):
                subprocess.run(["kill", "-9", str(pid)], check=False)


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    action = write(tmp_path, "a.py", "def f():\n    raise KeyError('k')\nf()\n")
    done = edgewhisk("action", "annotation", action, "--verbose")
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.splitlines()[-1].endswith("importing it raised KeyError (line 2): 'k'")


def test_build_json_is_a_python_action_the_embedded_default_runs(gpu_action: Path) -> None:
    """Without --docker a .py file is a python:3 action: what every backend runs, the embedded
    default's process backend included (a blackbox action there finds no invoker)."""
    done = edgewhisk("action", "build", "glucose", gpu_action, "--json", "--timeout", "5000",
                     "--memory", "512")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["exec"] == {"kind": "python:3", "code": gpu_action.read_text(),
                                "main": "main", "binary": False}
    assert [a["key"] for a in document["annotations"]] == ["edgewhisk", "invoker-resources"]
    assert document["annotations"][1]["value"] == ["gpu", "arm64"]
    assert document["limits"] == {"timeout": 5000, "memory": 512, "logs": 10, "concurrency": 1}
    assert document == action_document("glucose", gpu_action, limits={"timeout": 5000,
                                                                      "memory": 512})


def test_build_with_docker_is_the_image_as_a_blackbox_action(gpu_action: Path) -> None:
    done = edgewhisk("action", "build", "glucose", gpu_action, "--json", "--docker",
                     DEFAULT_IMAGE)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["exec"] == {"kind": "blackbox", "image": DEFAULT_IMAGE,
                                "code": gpu_action.read_text(), "main": "main", "binary": False}
    assert document == action_document("glucose", gpu_action, docker=DEFAULT_IMAGE)


def test_soft_capabilities_give_no_invoker_resources() -> None:
    done = edgewhisk("action", "build", "design", DESIGN_FILE, "--json")
    keys = [a["key"] for a in json.loads(done.stdout)["annotations"]]
    assert keys == ["edgewhisk"]


def test_a_file_without_the_sdk_is_not_imported(tmp_path: Path) -> None:
    """Reading an annotation imports the file; one that does not use the SDK has none, so it
    is never imported (its own imports need not exist here)."""
    plain = write(tmp_path, "plain.py", "import not_installed_here\ndef main(args): return {}\n")
    done = edgewhisk("action", "build", "plain", plain, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["annotations"] == []


def test_build_prints_the_equivalent_wsk_line(gpu_action: Path) -> None:
    done = edgewhisk("action", "build", "glucose", gpu_action, "--docker", "reg/img:1")
    assert done.returncode == 0, done.stderr
    document_text, wsk = done.stdout.rsplit("\n# the same action with the wsk CLI:\n", 1)
    document = json.loads(document_text)
    argv = shlex.split(wsk)
    assert argv[:8] == ["wsk", "action", "create", "glucose", str(gpu_action), "--docker",
                        "reg/img:1", "-a"]
    assert argv[8] == "edgewhisk" and json.loads(argv[9]) == document["annotations"][0]["value"]
    assert argv[10:] == ["-a", "invoker-resources", '["gpu", "arm64"]',
                         "--timeout", "60000", "--memory", "256"]


def test_the_wsk_line_of_a_python_action_names_its_kind(gpu_action: Path) -> None:
    done = edgewhisk("action", "build", "glucose", gpu_action, "--main", "handler")
    assert done.returncode == 0, done.stderr
    notes, wsk = done.stdout.rstrip("\n").rsplit("\n", 1)
    assert shlex.split(wsk)[4:9] == [str(gpu_action), "--kind", "python:3", "--main", "handler"]
    assert "has no edgewhisk SDK" in notes


def _zip_entries(code: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(code))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_build_with_includes_zips_file_as_main(tmp_path: Path, gpu_action: Path) -> None:
    package = tmp_path / "lib"
    (package / "__pycache__").mkdir(parents=True)
    (package / "mod.py").write_text("A = 1\n")
    (package / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    archive = tmp_path / "out.zip"
    done = edgewhisk("action", "build", "glucose", gpu_action, "--include",
                     tmp_path / "helper.py", "--include", package, "--zip", archive)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout.split("\n\n# the same")[0])
    assert document["exec"]["binary"] is True
    entries = _zip_entries(document["exec"]["code"])
    assert entries == {"__main__.py": gpu_action.read_bytes(),
                       "helper.py": b"VALUE = 1\n", "lib/mod.py": b"A = 1\n"}
    assert archive.read_bytes() == base64.b64decode(document["exec"]["code"])
    assert f"glucose {archive} --kind python:3" in done.stdout


def test_packaging_is_deterministic(gpu_action: Path) -> None:
    helper = gpu_action.with_name("helper.py")
    assert package_action(gpu_action, [helper]) == package_action(gpu_action, [helper])


BUILD_ERRORS: list[tuple[str, list[str], str]] = [
    ("a bad action name is refused", ["bad name!", "{file}"], "not an OpenWhisk action name"),
    ("a name the controller refuses (non-ASCII) is refused", ["caf\u00e9", "{file}"],
     "not an OpenWhisk action name"),
    ("memory above 512 MB is refused", ["a", "{file}", "--memory", "1024"],
     "memory must be an integer from 128 to 512"),
    ("a timeout under 100 ms is refused", ["a", "{file}", "--timeout", "10"],
     "timeout must be an integer from 100 to 300000"),
    ("a missing include is refused", ["a", "{file}", "--include", "/no/such"],
     "--include /no/such: not an existing file or folder"),
    ("two includes with one name are refused",
     ["a", "{file}", "--include", "{helper}", "--include", "{helper}"], "both be 'helper.py'"),
    ("--zip without includes is refused", ["a", "{file}", "--zip", "x.zip"], "--zip needs"),
    ("--docker with another --kind is refused",
     ["a", "{file}", "--docker", "img", "--kind", "python:3"], "excludes --kind python:3"),
    ("a file whose kind cannot be told is refused", ["a", "{helper_txt}"],
     "cannot tell the kind"),
]


@pytest.mark.parametrize(("argv", "words"), [pytest.param(a, w, id=i) for i, a, w in BUILD_ERRORS])
def test_build_errors_exit_2(gpu_action: Path, argv: list[str], words: str) -> None:
    helper_txt = gpu_action.with_name("helper.txt")
    helper_txt.write_text("text")
    fields: dict[str, Any] = {"file": gpu_action, "helper": gpu_action.with_name("helper.py"),
                              "helper_txt": helper_txt}
    done = edgewhisk("action", "build", *[a.format(**fields) for a in argv],
                     cwd=gpu_action.parent)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("edgewhisk action build: error: "), done.stderr
    assert words in done.stderr, done.stderr
    assert done.stdout == ""
