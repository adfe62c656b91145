"""``edgewhisk flow diagram``: a compiled Composer flow's pipeline from its steps' annotations.

The flows are compiled by Composer's own ``compose`` (``.services``), the steps' annotations
read from the example files as ``edgewhisk action create`` reads them; the command runs as a
user runs it (the console script, in a child process) and in process for the refusals. The
README's block runs verbatim (:func:`test_the_readme_block_runs_verbatim`).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from controller.api.harness import composer
from edgewhisk_cli.flow_diagram import kind
from edgewhisk_cli.flow_graph import Pipeline, Step, moves, text
from edgewhisk_cli.main import main
from edgewhisk_devkit import edgewhisk_command

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "composer_flows"
EXAMPLES = ROOT / "actions" / "examples"
PNG = b"\x89PNG\r\n\x1a\n"
README_SECTION = "### Draw a flow's pipeline"

TRAINING = """\
training: 5 steps
1. prepare
     runs on   node cloud (strict)
     produces  data {dataset}/train [cloud], data {dataset}/test [cloud]
2. train
     runs on   node cloud (strict)
     consumes  data {dataset}/train <- prepare
     produces  model {dataset}/candidate-{trial} [cloud]
3. validate
     runs on   node cloud (strict)
     consumes  model {dataset}/candidate-{trial} <- train, data {dataset}/test <- prepare
     produces  model {dataset}/model [cloud]
     gates     metric accuracy <0.8
4. push (on some outcomes)
     runs on   node cloud (preferred)
5. serve (on some outcomes)
     runs on   node edge (strict)
     consumes  model {dataset}/model <- validate"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """training.js, hierarchical.js and field.js as ``compose`` writes them."""
    folder = tmp_path_factory.mktemp("flows")
    for name in ("training", "hierarchical", "field"):
        (folder / f"{name}.json").write_text(composer("compose", str(FLOWS / f"{name}.js"),
                                                      cwd=folder))
    return folder


def test_the_training_flow_as_text_and_png(compiled: Path, tmp_path: Path) -> None:
    png = tmp_path / "training.png"
    done = subprocess.run(edgewhisk_command(
        "flow", "diagram", str(compiled / "training.json"), "--actions",
        str(EXAMPLES / "pipelines"), "--png", str(png)), capture_output=True, text=True,
        timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{TRAINING}\nwrote {png}\n"
    assert png.read_bytes()[:8] == PNG


def test_the_json_form_lists_the_steps_and_the_artifact_moves(
    compiled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flow", "diagram", str(compiled / "training.json"), "--actions",
                 str(EXAMPLES / "pipelines"), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(s["action"], s["runs"], s["conditional"]) for s in found["steps"]] == [
        ("prepare", "once", False), ("train", "once", False), ("validate", "once", False),
        ("push", "once", True), ("serve", "once", True)]
    assert found["moves"] == [
        {"ref": "{dataset}/train", "source": 0, "target": 1, "selected": False},
        {"ref": "{dataset}/candidate-{trial}", "source": 1, "target": 2, "selected": False},
        {"ref": "{dataset}/test", "source": 0, "target": 2, "selected": False},
        {"ref": "{dataset}/model", "source": 2, "target": 4, "selected": False}]


@pytest.mark.mxnet  # the personal assistant's and field technician's files import MXNet
@pytest.mark.parametrize(("flow", "folders", "expected"), [
    pytest.param("hierarchical", ("personal_assistant",), [
        ("train_base", "node cloud (strict)", "once"),
        ("collect", "node {usr}_device (strict)", "map"),
        ("refine", "node {usr}_device (strict); network {usr}_home (strict)", "map"),
        ("predict", "within 2s (preferred); node {usr}_device (strict)", "map")],
        id="hierarchical: the base in the cloud, each user's steps on the user's device"),
    pytest.param("field", ("field_technician", "pipelines"), [
        ("classify", "node edge (strict); offline on its devices too", "map"),
        ("upload", "network corp (strict); offline on its devices too", "once"),
        ("retrain", "node cloud (strict)", "once"), ("push", "node cloud (preferred)", "once")],
        id="field: classify on a tablet, upload only on corp; the first folder wins"),
])
def test_each_pipeline_says_where_its_steps_run(
    compiled: Path, flow: str, folders: tuple[str, ...], expected: list[tuple[str, str, str]],
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["flow", "diagram", str(compiled / f"{flow}.json"), "--png", str(tmp_path / "d.png")]
    for folder in folders:
        args += ["--actions", str(EXAMPLES / folder)]
    assert main([*args, "--json"]) == 0
    found = json.loads(capsys.readouterr().out.split("\nwrote ")[0])
    steps = [Step(s["action"], s["runs"], s["conditional"], s["annotation"])
             for s in found["steps"]]
    assert [(s.action, s.where(), s.runs) for s in steps] == expected
    assert (tmp_path / "d.png").read_bytes()[:8] == PNG
    if flow == "hierarchical":  # refine's base model, chosen by selector, may be train_base's
        assert {"ref": "base by selector", "source": 0, "target": 2,
                "selected": True} in found["moves"]


def _step(action: str, policies: list[dict[str, object]], consumes: tuple[str, ...] = (),
          produces: tuple[str, ...] = ()) -> Step:
    return Step(action, "once", False, {
        "policies": policies,
        "consumes": [{"kind": "data", "name": r, "ref": r} for r in consumes],
        "produces": [{"kind": "data", "name": r, "ref": r} for r in produces]})


def test_an_artifact_comes_from_the_latest_earlier_step_that_produces_its_ref() -> None:
    steps = [_step("a", [], produces=("x",)), _step("b", [], consumes=("x",), produces=("x",)),
             _step("c", [], consumes=("x", "y")), _step("d", [], produces=("y",))]
    assert [(m.ref, m.source, m.target) for m in moves(steps)] == [("x", 0, 1), ("x", 1, 2)]


def test_a_model_chosen_by_selector_is_joined_to_the_latest_earlier_model_as_a_candidate() -> None:
    base = {"kind": "model", "name": "base", "selector": {"type": "classifier"}}
    steps = [_step("train", [], produces=("d",)),
             Step("fit", "once", False, {"produces": [{"kind": "model", "ref": "m"}]}),
             _step("clean", [], produces=("e",)),
             Step("refine", "once", False, {"consumes": [base]}),
             Step("first", "once", False, {"consumes": [{**base, "kind": "data"}]})]
    found = moves(steps)
    assert [(m.ref, m.source, m.target, m.selected) for m in found] == [
        ("base by selector", 1, 3, True),  # fit's model, not clean's later data
        ("base by selector", 2, 4, True)]  # a data selector: the latest data, clean's
    assert "<- fit (if it matches)" in text(Pipeline("p", steps, found))


@pytest.mark.parametrize(("policies", "colour"), [
    ([{"type": "fn", "node": "cloud", "strict": True}], "cloud"),
    ([{"type": "fn", "node": "{usr}_device", "strict": True}], "device"),
    ([{"type": "fn", "node": "edge", "strict": False}], "device"),
    ([{"type": "data", "network": ["corp"], "strict": True}], "network"),
    ([{"type": "offline"}], "any"),
])
def test_a_box_is_coloured_by_where_its_policies_let_it_run(
    policies: list[dict[str, object]], colour: str
) -> None:
    assert kind(_step("s", policies)) == colour


def test_a_pipeline_with_many_moves_draws(tmp_path: Path) -> None:
    from edgewhisk_cli.flow_diagram import draw

    steps = [_step(f"s{i}", [], consumes=(f"r{i - 1}",) if i else (), produces=(f"r{i}",))
             for i in range(6)]
    path = draw(Pipeline("many", steps, moves(steps)), tmp_path / "many.png")
    assert path.read_bytes()[:8] == PNG


@pytest.mark.parametrize(("setup", "args", "error"), [
    pytest.param(None, ["missing.json"], "missing.json: no such file", id="no such file"),
    pytest.param("{not json", ["f.json"], "f.json: not a composition (compose's JSON)",
                 id="not JSON"),
    pytest.param('{"version": "0.12.0"}', ["f.json"],
                 "f.json: not a composition: write it with `compose FLOW.js > f.json`",
                 id="JSON without a composition"),
    pytest.param('{"type": "function", "function": {"exec": {"code": "x => x"}}}', ["f.json"],
                 "f.json: the composition runs no action", id="no action step"),
    pytest.param('{"type": "action", "name": "/_/prepare"}', ["f.json", "--actions", "nope"],
                 "nope: no such folder (--actions names the step files' folders)",
                 id="a folder that does not exist"),
    pytest.param('{"type": "action", "name": "/_/nothere"}', ["f.json", "--actions", "."],
                 "step nothere: no nothere.py in .", id="a step without its file"),
    pytest.param('{"type": "action", "name": "/_/prepare"}', ["f.json"],
                 "step prepare: no prepare.py in no folder (give --actions DIR)",
                 id="no --actions"),
    pytest.param('{"type": "action", "name": "/_/prepare"}', ["f.json", "--png", "d.svg"],
                 "--png d.svg: a .png file in an existing folder", id="not a .png"),
    pytest.param('{"type": "action", "name": "/_/prepare"}',
                 ["f.json", "--png", "no/such/d.png"],
                 "--png no/such/d.png: a .png file in an existing folder",
                 id="a PNG in a folder that does not exist"),
])
def test_bad_input_is_a_usage_error_that_writes_nothing(
    setup: str | None, args: list[str], error: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    if setup is not None:
        (tmp_path / "f.json").write_text(setup)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["flow", "diagram", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"edgewhisk flow diagram: error: {error}"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_step_file_that_fails_to_import_is_named(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f.json").write_text('{"type": "action", "name": "/_/broken"}')
    (tmp_path / "broken.py").write_text("raise RuntimeError('no model here')\n")
    assert main(["flow", "diagram", str(tmp_path / "f.json"), "--actions", str(tmp_path)]) == 2
    assert "broken.py" in capsys.readouterr().err


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(README_SECTION)
    blocks = re.findall(r"^```sh\n(.*?)^```", text[start:text.index("\n#", start + 4)],
                        re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_readme_block_runs_verbatim(tmp_path: Path) -> None:
    """From a folder that has what a checkout has after ``make test`` (links to the flows, the
    examples, ``.services`` and the venv): the block's commands as written, in ``bash -e``."""
    for name in ("composer_flows", "actions", ".services", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    done = subprocess.run(["bash", "-e", "-c", readme_block()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{TRAINING}\nwrote training.png\n"
    assert (tmp_path / "training.png").read_bytes()[:8] == PNG
