"""Plain values across the sandbox boundary: a tagged JSON encoding, never pickle.

The harness (which runs a task's tests) and the completion (the untrusted code) live in two
processes; every ``candidate(...)`` call crosses a pipe as one length-prefixed message in
this encoding, and the receiver rebuilds only standard types from it, so no object of the
completion's own classes (an ``__eq__`` that always returns True, a lying ``int``
subclass) can ever reach the harness's ``==``.

Encoding: None, bool, str, float (nan and inf included) and ints below 2**1000 are JSON
scalars; a list is a JSON array; everything else is a JSON object ``{"t": tag, "v":
payload}`` (tuple, dict with any hashable keys, set, frozenset, bytes, bytearray, complex,
big int, Fraction, Decimal, Counter, OrderedDict, defaultdict, deque, date, time, datetime,
timedelta, range, dict views, and iterators such as generators, which cross as the list of
their items and arrive as a list iterator: ``list(answer)`` works, ``answer == [...]``
stays False as in the completion's process). A subclass of int, float, str, tuple, list or
dict crosses as its base value, read with the base type's own methods (its overrides are
never called). Anything else raises :class:`WireError`, as do values nested deeper than
``MAX_DEPTH`` (self-referencing lists included) and messages over ``MAX_BYTES``.

Standard library only: the sandbox worker loads this file as a top-level module.
"""

import base64
import collections
import datetime
import decimal
import fractions
import json
import os
import struct

MAX_BYTES = 64 * 2**20
MAX_DEPTH = 200
MAX_ITEMS = 10**6
_BIG = 1 << 1000
FRAME = struct.Struct("<Q")  # the header of a message: its length (or a pid)
_HEADER = FRAME


class WireError(ValueError):
    """A value that cannot cross the sandbox boundary, or a malformed message."""


_FACTORIES = {int: "int", float: "float", str: "str", list: "list", dict: "dict", set: "set"}
_FACTORIES_BACK = {v: k for k, v in _FACTORIES.items()}
_KEYS_T = type({}.keys())
_VALUES_T = type({}.values())
_ITEMS_T = type({}.items())


def _pairs(items, d):
    return [[_enc(k, d), _enc(x, d)] for k, x in items]


def _enc(v, d):
    t = type(v)
    if t is str or t is float or t is bool or v is None:
        return v
    if t is int:
        return v if -_BIG < v < _BIG else {"t": "i", "v": hex(v)}
    if d >= MAX_DEPTH:
        raise WireError(f"rankinv: value nested deeper than {MAX_DEPTH} levels")
    d += 1
    if t is list:
        return [_enc(x, d) for x in v]
    if t is tuple:
        return {"t": "t", "v": [_enc(x, d) for x in v]}
    if t is dict:
        return {"t": "d", "v": _pairs(v.items(), d)}
    if t is set or t is frozenset:
        return {"t": "s" if t is set else "f", "v": [_enc(x, d) for x in v]}
    if t is bytes or t is bytearray:
        return {"t": "b" if t is bytes else "ba", "v": base64.b64encode(v).decode()}
    if t is complex:
        return {"t": "c", "v": [v.real, v.imag]}
    if t is fractions.Fraction:
        return {"t": "F", "v": [_enc(v.numerator, d), _enc(v.denominator, d)]}
    if t is decimal.Decimal:
        return {"t": "D", "v": str(v)}
    if t is collections.Counter:
        return {"t": "C", "v": _pairs(v.items(), d)}
    if t is collections.OrderedDict:
        return {"t": "O", "v": _pairs(v.items(), d)}
    if t is collections.defaultdict:
        return {"t": "dd", "v": [_FACTORIES.get(v.default_factory), _pairs(v.items(), d)]}
    if t is collections.deque:
        return {"t": "q", "v": [[_enc(x, d) for x in v], v.maxlen]}
    if t is datetime.datetime:
        return {"t": "dt", "v": v.isoformat()}
    if t is datetime.date:
        return {"t": "da", "v": v.isoformat()}
    if t is datetime.time:
        return {"t": "ti", "v": v.isoformat()}
    if t is datetime.timedelta:
        return {"t": "td", "v": [v.days, v.seconds, v.microseconds]}
    if t is range:
        return {"t": "r", "v": [_enc(v.start, d), _enc(v.stop, d), _enc(v.step, d)]}
    if t is _KEYS_T:
        return {"t": "dk", "v": [_enc(x, d) for x in v]}
    if t is _VALUES_T:
        return {"t": "dv", "v": [_enc(x, d) for x in v]}
    if t is _ITEMS_T:
        return {"t": "di", "v": _pairs(v, d)}
    # subclasses of the plain types cross as their base value, read by the base type
    if isinstance(v, int):
        return _enc(int.__int__(v), d)
    if isinstance(v, float):
        return float.__float__(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, tuple):
        return {"t": "t", "v": [_enc(x, d) for x in tuple.__iter__(v)]}
    if isinstance(v, list):
        return [_enc(x, d) for x in list.__iter__(v)]
    if isinstance(v, dict):
        return {"t": "d", "v": _pairs(dict.items(v), d)}
    if t.__module__ == "numpy" and getattr(v, "ndim", None) == 0:
        return _enc(v.item(), d)  # numpy scalars (when numpy is allowed) as Python values
    if hasattr(t, "__next__"):  # generators, map, filter, zip, ...: their items
        items = []
        for x in v:
            if len(items) >= MAX_ITEMS:
                raise WireError(f"rankinv: an iterator answer longer than {MAX_ITEMS} items")
            items.append(_enc(x, d))
        return {"t": "it", "v": items}
    raise WireError(
        f"rankinv: a value of type {t.__qualname__} cannot cross the sandbox boundary"
        " (only standard value types do)"
    )


def _dict(pairs, cls=dict):
    out = cls()
    for k, x in pairs:
        out[k] = x
    return out


_DECODERS = {
    "i": lambda v: int(v, 16),
    "t": tuple,
    "d": _dict,
    "s": set,
    "f": frozenset,
    "b": lambda v: base64.b64decode(v, validate=True),
    "ba": lambda v: bytearray(base64.b64decode(v, validate=True)),
    "c": lambda v: complex(float(v[0]), float(v[1])),
    "F": lambda v: fractions.Fraction(v[0], v[1]),
    "D": decimal.Decimal,
    "C": lambda v: _dict(v, collections.Counter),
    "O": lambda v: _dict(v, collections.OrderedDict),
    "dd": lambda v: collections.defaultdict(
        _FACTORIES_BACK[v[0]] if v[0] is not None else None, _dict(v[1])
    ),
    "q": lambda v: collections.deque(v[0], v[1]),
    "dt": datetime.datetime.fromisoformat,
    "da": datetime.date.fromisoformat,
    "ti": datetime.time.fromisoformat,
    "td": lambda v: datetime.timedelta(v[0], v[1], v[2]),
    "r": lambda v: range(v[0], v[1], v[2]),
    "dk": lambda v: dict.fromkeys(v).keys(),
    "dv": lambda v: dict(enumerate(v)).values(),
    "di": lambda v: _dict(v).items(),
    "it": iter,
}


def _hook(obj):
    if len(obj) != 2 or "t" not in obj or "v" not in obj:
        raise WireError("rankinv: malformed message")
    return _DECODERS[obj["t"]](obj["v"])


def dumps(value) -> bytes:
    """``value`` as bytes of the tagged encoding; :class:`WireError` if it cannot cross."""
    data = json.dumps(_enc(value, 0), separators=(",", ":")).encode()
    if len(data) > MAX_BYTES:
        raise WireError(f"rankinv: value larger than {MAX_BYTES >> 20} MiB once encoded")
    return data


def loads(data: bytes):
    """Rebuild a value from :func:`dumps`'s bytes; :class:`WireError` if malformed."""
    try:
        return json.loads(data, object_hook=_hook)
    except WireError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the bytes were, they are refused
        raise WireError(f"rankinv: malformed message ({type(exc).__name__})") from None


def send(fd: int, data: bytes) -> None:
    """One length-prefixed message on a pipe."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv(fd: int):
    """The next message, or None at end of file; :class:`WireError` if oversized."""
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    (n,) = _HEADER.unpack(head)
    if n > MAX_BYTES + 1024:
        raise WireError("rankinv: oversized message")
    return _read_exact(fd, n)


def send_frame(sock, data: bytes) -> None:
    """One length-prefixed message on a socket (between the worker's own processes)."""
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv_exact(sock, n: int):
    """Exactly ``n`` bytes from ``sock``, or None at end of file."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv_frame(sock):
    """The next message of :func:`send_frame`, or None at end of file; :class:`WireError`
    if oversized."""
    head = recv_exact(sock, _HEADER.size)
    if head is None:
        return None
    (n,) = _HEADER.unpack(head)
    if n > MAX_BYTES + 1024:
        raise WireError("rankinv: oversized message")
    return recv_exact(sock, n)
