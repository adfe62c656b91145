"""The heartbeat fast path (edgewhisk_tunnel.beats) against the general codec: the same
frames, the same values, and anything else left to ``decode``."""

from __future__ import annotations

import pytest
from edgewhisk_tunnel import Heartbeat, decode, encode
from edgewhisk_tunnel.beats import answer_frame, match_beat

VALUES = [(0, 0), (1, 7), (42, 1_733_000_123), (10**15, 10**15 - 1), (9_999_999_999_999_999, 3)]


@pytest.mark.parametrize("quiet", [False, True], ids=["answered", "quiet"])
@pytest.mark.parametrize(("seq", "sent_ms"), VALUES)
def test_a_device_beat_matches_with_the_values_decode_reads(seq: int, sent_ms: int,
                                                            quiet: bool) -> None:
    frame = encode(Heartbeat(seq=seq, sent_ms=sent_ms, quiet=quiet))
    message = decode(frame)
    assert match_beat(frame) == (message.seq, message.sent_ms, message.quiet) == (
        seq, sent_ms, quiet)


@pytest.mark.parametrize(("seq", "sent_ms"), VALUES)
def test_the_answer_is_the_frame_encode_writes(seq: int, sent_ms: int) -> None:
    beat = Heartbeat(seq=seq, sent_ms=sent_ms)
    assert answer_frame(seq, 123_456, sent_ms) == encode(beat.reply(123_456))


@pytest.mark.parametrize("frame", [
    encode(Heartbeat(seq=1, sent_ms=2, echo_ms=3)),          # a reply: the probe's echo
    encode(Heartbeat(seq=1, sent_ms=-5)),                     # negative: the general way
    encode(Heartbeat(seq=1, sent_ms=10**17)),                 # longer than the pattern takes
    '{"type":"heartbeat","seq":01,"sent_ms":2,"echo_ms":null}',  # not JSON: decode refuses
    '{"type":"heartbeat", "seq":1,"sent_ms":2,"echo_ms":null}',  # other spacing
    '{"seq":1,"type":"heartbeat","sent_ms":2,"echo_ms":null}',   # other key order
    '{"type":"heartbeat","seq":1,"sent_ms":2,"echo_ms":null}\n',
    '{"type":"heartbeat","seq":1.0,"sent_ms":2,"echo_ms":null}',
    '{"type":"heartbeat","seq":-1,"sent_ms":2,"echo_ms":null}',  # decode refuses it
    '{"type":"context","seq":1,"sent_ms":2,"echo_ms":null}',
    '{"type":"heartbeat","seq":1,"sent_ms":2,"echo_ms":null,"quiet":false}',  # not encode's
    '{"type":"heartbeat","seq":1,"sent_ms":2,"echo_ms":3,"quiet":true}',  # decode refuses it
])
def test_anything_else_is_left_to_decode(frame: str) -> None:
    assert match_beat(frame) is None
