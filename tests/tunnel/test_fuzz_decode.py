"""Fuzzing the tunnel's frame decoder (hypothesis): whatever a device sends, ``decode`` returns
a message or raises ``ProtocolError`` (the connection closes with its code and reason); no
other exception may escape, and whatever it returns encodes again."""

from __future__ import annotations

import json
from typing import Any

from edgewhisk_tunnel import MESSAGES, ProtocolError, decode, encode, to_dict
from hypothesis import given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=150, deadline=None)
TYPES = sorted(str(kind) for kind in MESSAGES)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=15)
FIELDS = st.sampled_from(["id", "memory_mb", "kinds", "agent_version", "seq", "sent_ms",
                          "echo_ms", "activation_id", "outcome", "error", "lines", "battery",
                          "networks", "values", "transfer_id", "ref", "offset", "window",
                          "size", "sha256", "eof", "reason", "spec", "value", "fields", "x"])


def _decodes_or_refuses(frame: str | bytes) -> None:
    try:
        message = decode(frame)
    except ProtocolError:
        return
    encode(message)  # what decode accepts, encode writes
    assert to_dict(message)["type"] == message.TYPE


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_frames_decode_or_raise_protocol_error_only(frame: str | bytes) -> None:
    _decodes_or_refuses(frame)


@FUZZ
@given(st.sampled_from(TYPES), st.dictionaries(FIELDS, JSON, max_size=6))
def test_frames_of_every_type_with_arbitrary_fields_decode_or_refuse(
        kind: str, fields: dict[str, Any]) -> None:
    text = json.dumps({"type": kind, **fields})  # NaN and Infinity included: not JSON
    _decodes_or_refuses(text)
    header, _, _ = text.partition("\n")
    _decodes_or_refuses(header.encode() + b"\n" + b"chunk")


@FUZZ
@given(st.sampled_from(TYPES), st.dictionaries(FIELDS, JSON, max_size=4), st.data())
def test_mutated_frames_decode_or_refuse(kind: str, fields: dict[str, Any],
                                         data: st.DataObject) -> None:
    text = json.dumps({"type": kind, **fields})
    at = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.sampled_from(['"', "\\ud800", "NaN", "1e999", "[", "}", "9" * 400,
                                        ",", ":", "\x00", "\n"]))
    _decodes_or_refuses(text[:at] + insert + text[at:])
