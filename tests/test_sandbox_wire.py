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
