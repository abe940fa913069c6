"""_wire: plain values across the sandbox boundary (tagged JSON, never pickle)."""

import collections
import datetime
import decimal
import fractions
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rankinv.sandbox import _wire

VALUES = [
    0,
    -(2**5000),
    1.5,
    -0.0,
    float("inf"),
    1 + 2j,
    "é\ud800",
    b"\x00\xff",
    bytearray(b"ab"),
    True,
    None,
    [1, [2, [3]]],
    (1, (2,)),
    {(1, 2): [3], "a": {1}},
    {1, 2},
    frozenset({3}),
    fractions.Fraction(3, 4),
    decimal.Decimal("1.10"),
    collections.Counter("abca"),
    collections.OrderedDict(a=1, b=2),
    collections.defaultdict(list, {1: [2]}),
    collections.deque([1, 2], 5),
    datetime.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
    datetime.date(2020, 1, 1),
    datetime.time(1, 2),
    datetime.timedelta(1, 2, 3),
    range(1, 10, 2),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_wire_round_trips_value_and_exact_type(value):
    back = _wire.loads(_wire.dumps(value))
    assert type(back) is type(value) and back == value
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)
    if isinstance(value, collections.defaultdict):
        assert back.default_factory is value.default_factory
    if isinstance(value, collections.deque):
        assert back.maxlen == value.maxlen


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_wire_round_trips_nested_values(value):
    assert _wire.loads(_wire.dumps(value)) == value


def test_wire_refuses_foreign_objects_and_garbage():
    class Liar:
        def __eq__(self, other):
            return True

    class LyingInt(int):
        def __eq__(self, other):
            return True

    with pytest.raises(_wire.WireError, match="cannot cross"):
        _wire.dumps(Liar())
    # a subclass crosses as its base value, read by the base type
    assert type(_wire.loads(_wire.dumps(LyingInt(3)))) is int
    loop = []
    loop.append(loop)
    with pytest.raises(_wire.WireError, match="deeper"):
        _wire.dumps(loop)
    for bad in (b'{"t":"x","v":1}', b"[[[", b'{"t":"F","v":[1,0]}', b"[" * 100_000):
        with pytest.raises(_wire.WireError):
            _wire.loads(bad)
    it = _wire.loads(_wire.dumps(x * x for x in range(3)))
    assert it != [0, 1, 4] and list(it) == [0, 1, 4]  # as a generator would compare


# ---------------------------------------------------------------- fuzzing the wire

_PLAIN_MODULES = {"builtins", "collections", "datetime", "fractions", "decimal"}


def _only_plain_types(value, depth=0) -> bool:
    """Whether ``value`` and everything in it is of a standard value type."""
    if type(value).__module__ not in _PLAIN_MODULES or depth > _wire.MAX_DEPTH + 5:
        return False
    if isinstance(value, (str, bytes, bytearray, range)) or hasattr(value, "__next__"):
        return True
    if isinstance(value, dict):
        return all(_only_plain_types(x, depth + 1) for kv in value.items() for x in kv)
    if isinstance(value, (list, tuple, set, frozenset, collections.deque)):
        return all(_only_plain_types(x, depth + 1) for x in value)
    return True


_TAGS = ["i", "t", "d", "s", "f", "b", "ba", "c", "F", "D", "C", "O", "dd", "q", "dt", "da"]
_TAGS += ["ti", "td", "r", "dk", "dv", "di", "it", "x", "", "T"]
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=2), inner, max_size=3)
        | st.fixed_dictionaries({"t": st.sampled_from(_TAGS), "v": inner})
        | st.fixed_dictionaries({"t": st.sampled_from(_TAGS), "v": inner, "w": inner})
    ),
    max_leaves=20,
)


def _encoded(value) -> bytes:
    import json

    return json.dumps(value).encode()


# any bytes: valid tagged messages, the same cut short anywhere, and noise
_messages = (
    _json_values.map(_encoded)
    | st.tuples(_json_values.map(_encoded), st.integers(0, 200)).map(lambda p: p[0][: p[1]])
    | st.binary(max_size=200)
)


@settings(max_examples=400, deadline=None)
@given(_messages)
def test_loads_of_any_bytes_is_plain_values_or_a_wire_error(data):
    try:
        value = _wire.loads(data)
    except _wire.WireError:
        return
    assert _only_plain_types(value)


def _frame(body: bytes) -> bytes:
    return _wire.FRAME.pack(len(body)) + body


def _model(stream: bytes) -> list:
    """What successive recv() calls must return for ``stream`` (the writer then closes):
    each whole frame, then "big" for an oversized header or None at end of file."""
    out, i = [], 0
    while True:
        if len(stream) - i < _wire.FRAME.size:
            return out + [None]
        (n,) = _wire.FRAME.unpack_from(stream, i)
        if n > _wire.MAX_BYTES + 1024:
            return out + ["big"]
        i += _wire.FRAME.size
        if len(stream) - i < n:
            return out + [None]
        out.append(stream[i : i + n])
        i += n


def _interleave(a: bytes, b: bytes, cuts: list[int]) -> bytes:
    """Two writers' bytes mixed, in chunks of the given sizes taken in turn."""
    out, parts = [], [bytearray(a), bytearray(b)]
    for k, size in enumerate(cuts):
        part = parts[k % 2]
        out.append(bytes(part[:size]))
        del part[:size]
    return b"".join(out) + bytes(parts[0]) + bytes(parts[1])


_bodies = st.lists(_json_values.map(_encoded) | st.binary(max_size=40), max_size=5)
_streams = (
    _bodies.map(lambda bs: b"".join(map(_frame, bs)))
    | st.tuples(_bodies, st.integers(0, 400)).map(lambda p: b"".join(map(_frame, p[0]))[: p[1]])
    | st.tuples(_bodies, _bodies, st.lists(st.integers(1, 30), max_size=12)).map(
        lambda p: _interleave(b"".join(map(_frame, p[0])), b"".join(map(_frame, p[1])), p[2])
    )
    | st.tuples(st.integers(0, 2**64 - 1), st.binary(max_size=30)).map(
        lambda p: _wire.FRAME.pack(p[0]) + p[1]  # a wrong or huge length
    )
    | st.binary(max_size=300)
)


def _pipe_reader(stream: bytes):
    import os

    r, w = os.pipe()
    os.write(w, stream)  # under a pipe's buffer: never blocks
    os.close(w)
    return (lambda: _wire.recv(r)), (lambda: os.close(r))


def _socket_reader(stream: bytes):
    import socket

    a, b = socket.socketpair()
    a.sendall(stream)  # under a socket's buffer: never blocks
    a.close()
    return (lambda: _wire.recv_frame(b)), b.close


@pytest.mark.parametrize("channel", [_pipe_reader, _socket_reader], ids=["pipe", "socket"])
@settings(max_examples=300, deadline=None)
@given(stream=_streams)
def test_any_stream_gives_whole_frames_then_the_end_and_never_hangs(channel, stream):
    """A pipe (recv) or socket (recv_frame) holding any bytes, its writer closed: the
    reader returns the whole frames, then None (end, a truncated frame included) or a
    WireError (an oversized length), as the model says; it never waits for bytes that
    cannot come."""
    read, close = channel(stream)
    try:
        got = []
        for _ in range(len(stream) + 2):
            try:
                item = read()
            except _wire.WireError:
                item = "big"
            got.append(item)
            if item is None or item == "big":
                break
        assert got == _model(stream)
        for body in got[:-1]:  # and each body decodes to plain values or is refused
            try:
                assert _only_plain_types(_wire.loads(body))
            except _wire.WireError:
                pass
    finally:
        close()
