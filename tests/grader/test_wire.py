"""The wire format's bounds: everything a worker sends is checked before it is allocated."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from grader.worker import wire


@pytest.mark.parametrize(
    "value",
    [
        np.arange(6.0).reshape(2, 3),
        np.float32(1.5),
        np.array(3, dtype=np.int8),
        (1, [2.5, {"a": None}]),
        float("nan"),
        -float("inf"),
        1 + 2j,
        "text",
        True,
        np.zeros((0, 4)),
    ],
)
def test_plain_values_survive_the_round_trip(value):
    got = wire.plain(value)
    if isinstance(value, np.ndarray):
        assert type(got) is np.ndarray and got.dtype == value.dtype and np.array_equal(got, value)
    elif isinstance(value, float) and value != value:
        assert got != got
    else:
        assert got == value


@pytest.mark.parametrize(
    "data, phrase",
    [
        (b"NaN", "non-finite"),
        (b"[Infinity]", "non-finite"),
        (b"1e999", "non-finite"),
        (b"[" * 50_000 + b"]" * 50_000, "deeply"),
        (b"[]," * 600_000, "far too many"),
        (b"\xff\xfe", "not valid JSON"),
        (b"9" * 5000, "not valid JSON"),
    ],
)
def test_loads_rejects_what_no_worker_legitimately_sends(data, phrase):
    with pytest.raises(wire.DecodeError, match=phrase):
        wire.loads(data)


def test_loads_rejects_a_document_over_its_size_before_parsing():
    with pytest.raises(wire.DecodeError, match="allowed"):
        wire.loads(b" " * (wire.MAX_DOCUMENT_BYTES + 1))


def _nd(shape, data=b"", dtype="<f8"):
    return {"t": "nd", "dtype": dtype, "shape": shape, "data": base64.b64encode(data).decode()}


@pytest.mark.parametrize(
    "doc, phrase",
    [
        (_nd([0, 10**20]), "malformed shape"),
        (_nd([2**40, 2**40]), "malformed shape"),
        (_nd([-1]), "malformed shape"),
        (_nd([1] * 40), "malformed shape"),
        (_nd([True]), "malformed shape"),
        (_nd([2**30, 8]), "too large"),
        (_nd([3], b"\0" * 8), "does not match"),
        (_nd([1], b"\0" * 8, dtype="V8"), "non-numeric"),
        ({"t": "nd", "dtype": "<f8", "shape": [1], "data": "!!!"}, "malformed array data"),
        ({"t": "list", "v": [None] * (wire.MAX_ITEMS + 1)}, "malformed list"),
        ({"t": "str", "v": "x" * (wire.MAX_STRING + 1)}, "malformed string"),
        ({"t": "complex", "re": "1", "im": 2.0}, "unexpected str"),
        ({"t": "float", "v": "1e999"}, "malformed float"),
    ],
)
def test_decode_checks_every_bound_and_never_raises_anything_else(doc, phrase):
    with pytest.raises(wire.DecodeError, match=phrase):
        wire.decode(doc)


def test_decode_spends_one_byte_budget_over_a_whole_value():
    chunk = np.zeros(wire.MAX_ARRAY_BYTES // 8 // 2 + 1)
    doc = wire.encode([chunk, chunk])
    with pytest.raises(wire.DecodeError, match="too large"):
        wire.decode(doc)


def test_encode_never_calls_a_students_overridden_methods():
    class Liar(np.ndarray):
        def tobytes(self, *a, **k):
            raise AssertionError("called")

        def __array__(self, *a, **k):
            raise AssertionError("called")

    doc = wire.encode(np.ones(3).view(Liar))
    assert "subclass" in doc and np.array_equal(wire.decode(doc), np.ones(3))
