"""The wire format: the only thing that crosses between a worker and the grader.

Values travel as JSON documents; arrays as ``{"t": "nd", "dtype", "shape",
"data": base64}``; nothing is ever pickled. :func:`encode` runs on the worker
side and never calls a method a student's subclass could override.

:func:`loads` and :func:`decode` run on the grader side on bytes a student
controls, so every bound is checked *before* anything is allocated:

* total size of a document (:data:`MAX_DOCUMENT_BYTES`), and, before parsing,
  the number of containers and separators it may hold (so a document of
  millions of empty lists never reaches the JSON parser);
* nesting depth (the parser's own recursion limit, then :data:`MAX_DEPTH`);
* items per container (:data:`MAX_ITEMS`);
* arrays: numeric dtypes only, at most :data:`MAX_NDIM` axes, each axis and the
  exact product of the shape bounded, the byte count equal to that product
  times the item size, and a total byte budget per decoded value;
* non-finite numbers are rejected by :func:`loads` (``NaN``, ``Infinity``,
  ``1e999``): a worker's non-finite floats travel tagged, as values to compare,
  never as figures the grader computes with.

Every failure is a :class:`DecodeError` whose text a student may read.
"""

from __future__ import annotations

import base64
import binascii
import json
import math

import numpy as np

#: dtype kinds that may cross the process boundary: bool, ints, floats, complex.
NUMERIC_KINDS = frozenset("biufc")
MAX_DEPTH = 16
MAX_ITEMS = 10_000
MAX_NDIM = 32
MAX_AXIS = 1 << 31
MAX_ARRAY_BYTES = 16 << 20
MAX_STRING = 10_000
#: A whole document (one exercise's results) and the structure it may contain.
MAX_DOCUMENT_BYTES = 16 << 20  # the largest legitimate one, in the whole catalogue, is 32 kB
MAX_STRUCTURE = 1_000_000
#: The most a worker child may send back for one exercise (the server enforces it).
MAX_PAYLOAD = MAX_DOCUMENT_BYTES
#: Exit codes of a worker child that could not finish its own work.
EXIT_MEMORY, EXIT_BROKEN = 3, 4


class DecodeError(ValueError):
    """The data is not what the grader accepts; ``str(err)`` is student-readable."""


class Unsupported:
    """Decoded stand-in for a value that could not cross: carries its type name."""

    __slots__ = ("type_name", "reason")

    def __init__(self, type_name: str, reason: str = "") -> None:
        self.type_name = type_name
        self.reason = reason

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Unsupported({self.type_name!r})"


def type_name(obj) -> str:
    """A short, plain name of ``obj``'s type (never calls the object)."""
    t = type(obj)
    mod = getattr(t, "__module__", "") or ""
    name = getattr(t, "__qualname__", None) or getattr(t, "__name__", "?")
    full = name if mod in ("builtins", "") else f"{mod}.{name}"
    return str(full)[:80]


# ------------------------------------------------------------------ encoding


def _unsupported(name: str, reason: str = "") -> dict:
    return {"t": "unsupported", "type": name, "reason": reason} if reason else {"t": "unsupported", "type": name}


def _encode_array(obj, depth: int):
    arr = np.ndarray.view(obj, np.ndarray) if isinstance(obj, np.ndarray) else np.asarray(obj)
    if arr.dtype.kind not in NUMERIC_KINDS:
        return _unsupported(f"ndarray of dtype {arr.dtype.str}")
    if arr.nbytes > MAX_ARRAY_BYTES:
        return _unsupported(type_name(obj), "too large")
    arr = np.array(arr, order="C", copy=True)  # (ascontiguousarray would make 0-d 1-d)
    doc = {
        "t": "nd" if isinstance(obj, np.ndarray) else "np",
        "dtype": arr.dtype.str,
        "shape": list(arr.shape),
        "data": base64.b64encode(arr.tobytes()).decode("ascii"),
    }
    if type(obj) is not np.ndarray and isinstance(obj, np.ndarray):
        doc["subclass"] = type_name(obj)
    return doc


def _encode_int(obj, depth: int):
    integer = int.__int__(obj)
    return integer if abs(integer) < 2**63 else _unsupported("int", "too large")


def _encode_float(obj, depth: int):
    real = float.__float__(obj)
    return real if math.isfinite(real) else {"t": "float", "v": repr(real)}


def _encode_complex(obj, depth: int):
    number = complex(complex.__getattribute__(obj, "real"), complex.__getattribute__(obj, "imag"))
    return {"t": "complex", "re": encode(number.real), "im": encode(number.imag)}


def _encode_str(obj, depth: int):
    return {"t": "str", "v": str.__str__(obj)[:MAX_STRING]}


def _encode_sequence(obj, depth: int):
    kind = tuple if isinstance(obj, tuple) else list
    if len(obj) > MAX_ITEMS:
        return _unsupported(kind.__name__, "too many items")
    return {"t": kind.__name__, "v": [encode(x, depth + 1) for x in kind.__iter__(obj)]}


def _encode_dict(obj, depth: int):
    if len(obj) > MAX_ITEMS:
        return _unsupported("dict", "too many items")
    pairs = list(dict.items(obj))
    if not all(type(k) is str for k, _ in pairs):
        return _unsupported("dict", "keys are not all strings")
    return {"t": "dict", "v": [[k, encode(v, depth + 1)] for k, v in pairs]}


#: How each kind of value is written, tried in order (bool before int: a bool is an int).
#: Subclasses of the numbers and of str are written through the base type's own methods;
#: containers must be exactly tuple, list or dict.
_ENCODERS = (
    (lambda obj: isinstance(obj, (np.ndarray, np.generic)), _encode_array),
    (lambda obj: isinstance(obj, int), _encode_int),
    (lambda obj: isinstance(obj, float), _encode_float),
    (lambda obj: isinstance(obj, complex), _encode_complex),
    (lambda obj: isinstance(obj, str), _encode_str),
    (lambda obj: type(obj) in (tuple, list), _encode_sequence),
    (lambda obj: type(obj) is dict, _encode_dict),
)


def encode(obj, _depth: int = 0):
    """Plain data -> a JSON-able document."""
    if _depth > MAX_DEPTH:
        return _unsupported(type_name(obj), "nested too deeply")
    if obj is None or type(obj) is bool:
        return obj
    for applies, write in _ENCODERS:
        if applies(obj):
            return write(obj, _depth)
    return _unsupported(type_name(obj))


def dumps(doc) -> bytes:
    """A document as the bytes a worker sends (strict JSON: no NaN, no Infinity)."""
    return json.dumps(doc, allow_nan=False, separators=(",", ":")).encode()


# ------------------------------------------------------------------ decoding


def _reject_constant(name: str):
    raise DecodeError(f"non-finite number {name[:10]} in the data")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DecodeError("non-finite number in the data")
    return value


def loads(data: bytes, max_bytes: int = MAX_DOCUMENT_BYTES):
    """Bytes from a worker -> JSON data, every bound checked before parsing."""
    if not isinstance(data, (bytes, bytearray)):
        raise DecodeError("not bytes")
    if len(data) > max_bytes:
        raise DecodeError(f"{len(data)} bytes, more than the {max_bytes} allowed")
    structure = data.count(b"[") + data.count(b"{") + data.count(b",") + data.count(b":")
    if structure > MAX_STRUCTURE:
        raise DecodeError("far too many values")
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("nested too deeply") from None
    except (ValueError, TypeError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise DecodeError(f"not valid JSON ({str(exc)[:80]})") from None


def _array(doc: dict, budget: list[int]):
    try:
        dtype = np.dtype(str(doc["dtype"])[:16])
        shape_doc = doc["shape"]
        data = doc["data"]
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"malformed array ({str(exc)[:60]})") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DecodeError(f"non-numeric dtype {dtype.str}")
    if (
        type(shape_doc) is not list
        or len(shape_doc) > MAX_NDIM
        or not all(type(n) is int and 0 <= n < MAX_AXIS for n in shape_doc)
    ):
        raise DecodeError("malformed shape")
    if type(data) is not str:
        raise DecodeError("malformed array data")
    nbytes = math.prod(shape_doc) * dtype.itemsize  # exact: Python integers
    if nbytes > budget[0] or len(data) > 4 * (budget[0] // 3 + 1):
        raise DecodeError("the output is too large")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError("malformed array data") from None
    if nbytes != len(raw):
        raise DecodeError("array data does not match its shape")
    budget[0] -= nbytes
    try:
        arr = np.frombuffer(raw, dtype=dtype).reshape(tuple(shape_doc)).copy()
    except (ValueError, MemoryError) as exc:
        raise DecodeError(f"malformed array ({str(exc)[:60]})") from None
    return arr if doc.get("t") == "nd" else arr[()]


def _items(doc: dict) -> list:
    items = doc.get("v")
    if type(items) is not list or len(items) > MAX_ITEMS:
        raise DecodeError(f"malformed {str(doc.get('t'))[:10]}")
    return items


def _decode_float(doc: dict, depth: int, budget: list[int]):
    value = doc.get("v")
    if value not in ("nan", "inf", "-inf"):
        raise DecodeError("malformed float")
    return float(value)


def _decode_complex(doc: dict, depth: int, budget: list[int]):
    re, im = decode(doc.get("re"), depth + 1, budget), decode(doc.get("im"), depth + 1, budget)
    if type(re) is not float or type(im) is not float:
        raise DecodeError("malformed complex")
    return complex(re, im)


def _decode_str(doc: dict, depth: int, budget: list[int]):
    value = doc.get("v")
    if type(value) is not str or len(value) > MAX_STRING:
        raise DecodeError("malformed string")
    return value


def _decode_sequence(doc: dict, depth: int, budget: list[int]):
    sequence = [decode(x, depth + 1, budget) for x in _items(doc)]
    return tuple(sequence) if doc["t"] == "tuple" else sequence


def _decode_dict(doc: dict, depth: int, budget: list[int]):
    mapping = {}
    for pair in _items(doc):
        if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
            raise DecodeError("malformed dict item")
        mapping[pair[0][:200]] = decode(pair[1], depth + 1, budget)
    return mapping


def _decode_unsupported(doc: dict, depth: int, budget: list[int]):
    return Unsupported(str(doc.get("type", "?"))[:80], str(doc.get("reason", ""))[:80])


#: Tag -> reader of a tagged document; a tag not here is refused.
_DECODERS = {
    "nd": lambda doc, depth, budget: _array(doc, budget),
    "np": lambda doc, depth, budget: _array(doc, budget),
    "float": _decode_float,
    "complex": _decode_complex,
    "str": _decode_str,
    "tuple": _decode_sequence,
    "list": _decode_sequence,
    "dict": _decode_dict,
    "unsupported": _decode_unsupported,
}


def decode(doc, _depth: int = 0, _budget: list | None = None):
    """A document from :func:`encode` -> plain data, strictly.

    Only JSON scalars and the tagged objects :func:`encode` writes are
    accepted. Values that could not be encoded come back as :class:`Unsupported`.
    """
    if _budget is None:
        _budget = [MAX_ARRAY_BYTES]
    if _depth > MAX_DEPTH + 1:
        raise DecodeError("nested too deeply")
    if doc is None or type(doc) in (bool, int):
        return doc
    if type(doc) is float:
        if not math.isfinite(doc):
            raise DecodeError("non-finite number in the data")
        return doc
    if type(doc) is not dict:
        raise DecodeError(f"unexpected {type(doc).__name__} in the data")
    read = _DECODERS.get(doc.get("t")) if type(doc.get("t")) is str else None
    if read is None:
        raise DecodeError(f"unknown tag {str(doc.get('t'))[:20]!r}")
    return read(doc, _depth, _budget)


def plain(value):
    """``value`` in exactly the form a decoded worker value has (a reference's, say)."""
    return decode(loads(dumps(encode(value))))
