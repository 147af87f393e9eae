"""Round-trip properties (hypothesis): whatever one side sends -- messages whole
or in fragments, pings and pongs in between, a close at the end -- the other
side receives identically, with and without permessage-deflate, in whole-message
and streaming mode, from either role, under random splits of the byte stream
(RFC 6455 §5.4-§5.6, §5.5, §7; RFC 7692)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_helpers import Pair

from fastws.deflate import DeflateOptions
from fastws.events import Binary, Close, Closed, Ping, Pong, Text
from fastws.protocol import State

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

control = st.tuples(st.sampled_from(["ping", "pong"]), st.binary(max_size=125))
text_fragments = st.lists(st.text(max_size=40), min_size=1, max_size=4)
binary_fragments = st.lists(st.binary(max_size=300), min_size=1, max_size=4)
message = st.one_of(
    st.tuples(st.just("text"), text_fragments, st.lists(st.lists(control, max_size=2), max_size=4)),
    st.tuples(
        st.just("binary"), binary_fragments, st.lists(st.lists(control, max_size=2), max_size=4)
    ),
)
step = st.one_of(message, control)
close = st.one_of(
    st.none(),
    st.tuples(st.sampled_from([None, 1000, 1001, 1011, 3000, 4999]), st.text(max_size=20)),
)
deflate_options = st.builds(
    DeflateOptions,
    server_no_context_takeover=st.booleans(),
    client_no_context_takeover=st.booleans(),
    server_max_window_bits=st.sampled_from([None, 8, 9, 12, 15]),
    client_max_window_bits=st.sampled_from([None, 8, 11, 15]),
    min_size=st.sampled_from([0, 16, 64]),
)
compression = st.one_of(st.none(), deflate_options)


def run(kernels: Any, plan, end, sender_role, streaming, options, split_seed, mode) -> None:
    common = {"compression": options} if options is not None else {}
    receiver_options = {**common, "streaming": streaming}
    if sender_role == "client":
        pair = Pair(
            kernels, mode, client_options=common, server_options=receiver_options, seed=split_seed
        )
        sender, receiver = pair.client, pair.server
    else:
        pair = Pair(
            kernels, mode, client_options=receiver_options, server_options=common, seed=split_seed
        )
        sender, receiver = pair.server, pair.client
    assert (sender.deflate is None) == (options is None)

    expected: list[Any] = []
    pongs_back: list[Any] = []

    def send_control(kind: str, payload: bytes) -> None:
        if kind == "ping":
            sender.send_ping(payload)
            expected.append(Ping(payload))
            pongs_back.append(Pong(payload))
        else:
            sender.send_pong(payload)
            expected.append(Pong(payload))

    for item in plan:
        if item[0] in ("ping", "pong"):
            send_control(*item)
            continue
        kind, fragments, controls = item
        send = sender.send_text if kind == "text" else sender.send_binary
        event = Text if kind == "text" else Binary
        for i, fragment in enumerate(fragments):
            fin = i == len(fragments) - 1
            send(fragment, fin=fin)
            if streaming:
                expected.append(event(fragment, fin))
            if not fin and i < len(controls):
                for control_item in controls[i]:
                    send_control(*control_item)
        if not streaming:
            expected.append(event("".join(fragments) if kind == "text" else b"".join(fragments)))
        if streaming and len(fragments) == 1:
            expected[-1] = event(fragments[0])  # a whole message is one event, fin=True
    pair.flush()
    assert receiver.events() == expected
    assert sender.events() == pongs_back
    assert receiver.state is sender.state is State.OPEN

    if end is not None:
        code, reason = end
        reason = reason if code is not None else ""
        sender.close(code, reason)
        pair.flush()
        seen = 1005 if code is None else code
        receiver_events = receiver.events()
        sender_events = sender.events()
        assert receiver_events[0] == Close(seen, reason)
        assert sender_events[0] == Close(seen, "")
        pair.client.receive_eof()
        assert pair.client.state is pair.server.state is State.CLOSED
        receiver_events += receiver.events()
        sender_events += sender.events()
        assert receiver_events == [Close(seen, reason), Closed(seen, reason)]
        assert sender_events == [Close(seen, ""), Closed(seen, "")]


@SETTINGS
@given(
    plan=st.lists(step, max_size=8),
    end=close,
    sender_role=st.sampled_from(["client", "server"]),
    streaming=st.booleans(),
    split_seed=st.integers(0, 2**32),
    mode=st.sampled_from(["whole", "random", "random", "bytes"]),
)
def test_round_trip_uncompressed(kernels, plan, end, sender_role, streaming, split_seed, mode):
    run(kernels, plan, end, sender_role, streaming, None, split_seed, mode)


@SETTINGS
@given(
    plan=st.lists(step, max_size=8),
    end=close,
    sender_role=st.sampled_from(["client", "server"]),
    streaming=st.booleans(),
    options=deflate_options,
    split_seed=st.integers(0, 2**32),
    mode=st.sampled_from(["whole", "random", "random", "bytes"]),
)
def test_round_trip_compressed(
    kernels, plan, end, sender_role, streaming, options, split_seed, mode
):
    run(kernels, plan, end, sender_role, streaming, options, split_seed, mode)


@settings(max_examples=100, deadline=None)
@given(
    messages=st.lists(st.one_of(st.text(max_size=3000), st.binary(max_size=3000)), max_size=6),
    options=compression,
    split_seed=st.integers(0, 2**32),
)
def test_round_trip_larger_messages_both_ways(kernels, messages, options, split_seed):
    """Both sides send at once; larger payloads cross every length encoding."""
    common = {"compression": options} if options is not None else {}
    pair = Pair(kernels, "random", client_options=common, server_options=common, seed=split_seed)
    for data in messages:
        for conn in (pair.client, pair.server):
            if isinstance(data, str):
                conn.send_text(data)
            else:
                conn.send_binary(data)
    pair.flush()
    expected = [Text(m) if isinstance(m, str) else Binary(m) for m in messages]
    assert pair.server.events() == expected
    assert pair.client.events() == expected
