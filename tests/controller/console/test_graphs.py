"""The console's drawings laid out: inputs left of what was made from them, one lane per
invoker with bars where and as long as the activations ran."""

from __future__ import annotations

from edgewhisk_controller.console import graphs


def test_a_lineage_puts_each_input_a_column_left_of_what_was_made_from_it() -> None:
    edges = [("data@1", "model@1"), ("model@1", "model@2"), ("data@2", "model@2")]
    drawing = graphs.lineage(edges, iter(["model@1", "model@2"]))  # any iterable
    x = {box.key: box.x for box in drawing.boxes}
    assert x["data@1"] == x["data@2"] < x["model@1"] < x["model@2"]
    assert {box.key for box in drawing.boxes if box.current} == {"model@1", "model@2"}
    assert len(drawing.lines) == 3 and all(line.x1 < line.x2 for line in drawing.lines)
    assert drawing.width >= max(x.values()) + graphs.BOX_W


def test_a_version_made_from_nothing_is_one_box_without_lines() -> None:
    drawing = graphs.lineage([], ["notes@1"])
    assert [(b.key, b.current) for b in drawing.boxes] == [("notes@1", True)]
    assert drawing.lines == []


def test_inputs_reads_a_model_key_a_model_list_and_data() -> None:
    assert graphs.inputs({"model": "ns/m@1", "data": ["ns/d@1", "ns/d@2"]}) == [
        "ns/m@1", "ns/d@1", "ns/d@2"]
    assert graphs.inputs({"model": ["ns/a@1", "ns/b@1"], "data": []}) == ["ns/a@1", "ns/b@1"]
    assert graphs.inputs(None) == []


def test_a_timeline_has_a_lane_per_invoker_and_bars_in_proportion() -> None:
    rows = [{"activationId": "a", "name": "n", "status": "success", "invoker": "edge",
             "start": 1_000, "duration": 50},
            {"activationId": "b", "name": "n", "status": "success", "invoker": "local0",
             "start": 1_050, "duration": 50},
            {"activationId": "c", "name": "n", "status": "whisk error", "invoker": "edge",
             "start": 1_100, "duration": 0}]
    drawn = graphs.timeline(rows)
    assert drawn.span_ms == 100
    lanes = {lane.invoker: lane for lane in drawn.lanes}
    assert list(lanes) == ["edge", "local0"]
    a, c = lanes["edge"].bars
    (b,) = lanes["local0"].bars
    assert a.x == graphs.LABEL_W and a.width == b.width == graphs.TIMELINE_W / 2
    assert b.x == graphs.LABEL_W + graphs.TIMELINE_W / 2
    assert c.width == 1.0 and c.x == graphs.LABEL_W + graphs.TIMELINE_W


def test_a_timeline_of_nothing_has_no_lanes() -> None:
    assert graphs.timeline([]).lanes == []
