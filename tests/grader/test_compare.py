"""The comparison of plain outputs, the pickle-free codec and the static forbidden check."""

from __future__ import annotations

import numpy as np
import pytest

from grader.compare import compare, format_pair, inputs_modified
from grader.forbidden import check_source
from grader.worker import wire

TOL = {np.float32: (1e-5, 1e-6), np.float64: (1e-6, 1e-9)}


def roundtrip(value):
    return wire.plain(value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equal_arrays_match(dtype):
    x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    assert compare(x, x.copy(), *TOL[dtype]) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_error_beyond_tolerance_fails_with_first_index_and_errors(dtype):
    exp = np.ones((2, 3), dtype=dtype)
    got = exp.copy()
    got[1, 2] = 1 + 100 * TOL[dtype][0]
    found = compare(exp, got, *TOL[dtype])
    assert found is not None and found.index == (1, 2)
    assert found.max_abs == pytest.approx(100 * TOL[dtype][0], rel=1e-2)
    assert "first mismatch at index (1, 2)" in found.describe()


def test_gradient_off_by_1e_4_fails_in_float64():
    exp = np.array([0.5, -0.25, 2.0])
    assert compare(exp, exp + 1e-4, 1e-6, 1e-9) is not None
    assert compare(exp, exp * (1 + 1e-8), 1e-6, 1e-9) is None


def test_nan_where_expected_finite_fails():
    found = compare(np.array([1.0, 2.0]), np.array([1.0, np.nan]), 1e-6, 1e-9)
    assert found is not None and "NaN or inf" in found.problem and found.index == (1,)


def test_same_nonfinite_as_reference_matches():
    exp = np.array([np.inf, np.nan, 1.0])
    assert compare(exp, exp.copy(), 1e-6, 1e-9) is None
    assert compare(exp, np.array([-np.inf, np.nan, 1.0]), 1e-6, 1e-9) is not None


def test_shape_mismatch_names_both_shapes_and_suspects_a_transpose():
    found = compare(np.zeros((2, 3)), np.zeros((3, 2)), 1e-6, 1e-9)
    assert "expected shape (2, 3), got shape (3, 2) (transposed?)" in found.describe()


def test_less_precise_float_fails_but_more_precise_passes():
    assert "less precise" in compare(np.zeros(3), np.zeros(3, np.float32), 1e-6, 1e-9).problem
    assert compare(np.zeros(3, np.float32), np.zeros(3), 1e-5, 1e-6) is None


def test_integers_required_where_expected_and_compared_exactly():
    exp = np.array([0, 1, 1])
    assert "expected integers" in compare(exp, exp.astype(float), 1e-6, 1e-9).problem
    assert compare(exp, np.array([0, 1, 1], dtype=np.int32), 1e-6, 1e-9) is None
    assert compare(exp, np.array([0, 1, 0]), 1e-6, 1e-9).index == (2,)


def test_scalar_and_array_are_told_apart():
    assert "single number" in compare(1.5, np.array([1.5]), 1e-6, 1e-9).problem
    assert "NumPy array" in compare(np.array([1.5]), [1.5], 1e-6, 1e-9).problem
    assert compare(1.5, np.float64(1.5), 1e-6, 1e-9) is None
    assert compare(3, np.int64(3), 1e-6, 1e-9) is None


def test_tuple_outputs_are_named_in_feedback():
    exp = (np.zeros(2), np.ones(2))
    found = compare(exp, (np.zeros(2), np.zeros(2)), 1e-6, 1e-9, ("dx", "dw"))
    assert found.where == "dw" and found.describe().startswith("dw: wrong values")
    assert "tuple of 2 items, got 3" in compare(exp, (1, 2, 3), 1e-6, 1e-9).problem


def test_dict_outputs_need_the_same_keys():
    exp = {"W1": np.zeros(2), "b1": np.zeros(1)}
    assert "keys" in compare(exp, {"W1": np.zeros(2)}, 1e-6, 1e-9).problem
    found = compare(exp, {"W1": np.zeros(2), "b1": np.ones(1)}, 1e-6, 1e-9)
    assert found.where == "b1"


def test_unsupported_return_type_is_named():
    got = roundtrip(object())
    assert "object of type object" in compare(np.zeros(2), got, 1e-6, 1e-9).problem


def test_codec_roundtrips_plain_data_exactly():
    value = (
        np.arange(6, dtype=np.int32).reshape(2, 3),
        {"a": [1.5, None, True]},
        np.float32(2.5),
        np.array([np.nan, np.inf]),
        "tanh",
        -7,
        float("-inf"),
    )
    back = roundtrip(value)
    assert isinstance(back, tuple) and back[0].dtype == np.int32 and back[0].shape == (2, 3)
    assert back[1] == {"a": [1.5, None, True]}
    assert np.array_equal(back[3], value[3], equal_nan=True)
    assert back[2] == np.float32(2.5) and isinstance(back[2], np.float32)
    assert back[4:] == ("tanh", -7, float("-inf"))


def test_codec_strips_ndarray_subclasses_and_their_eq():
    class AlwaysEqual(np.ndarray):
        def __eq__(self, other):
            return True

    back = roundtrip(np.zeros(3).view(AlwaysEqual))
    assert type(back) is np.ndarray
    assert compare(np.ones(3), back, 1e-6, 1e-9) is not None


def test_codec_reads_subclassed_numbers_by_their_real_value():
    class Liar(float):
        def __float__(self):
            return 1.0

        def __eq__(self, other):
            return True

    assert roundtrip(Liar(3.0)) == 3.0 and type(roundtrip(Liar(3.0))) is float


@pytest.mark.parametrize(
    "doc, phrase",
    [
        ({"t": "nd", "dtype": "|O", "shape": [1], "data": ""}, "non-numeric"),
        ({"t": "nd", "dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="}, "does not match"),
        ({"t": "pickle", "v": "gASV"}, "unknown tag"),
        ([1, 2], "unexpected list"),
        ({"t": "dict", "v": [[1, 2]]}, "malformed dict"),
    ],
)
def test_decode_rejects_anything_but_plain_numeric_data(doc, phrase):
    with pytest.raises(wire.DecodeError, match=phrase):
        wire.decode(doc)


def test_decode_limits_nesting_depth():
    doc = None
    for _ in range(wire.MAX_DEPTH + 5):
        doc = {"t": "list", "v": [doc]}
    with pytest.raises(wire.DecodeError, match="deeply"):
        wire.decode(doc)


def test_inputs_modified_finds_the_changed_leaf_only():
    before = [[np.zeros(2), np.ones(2)], {"params": {"W1": np.zeros(2)}}, []]
    after = [[np.zeros(2), np.array([1.0, 5.0])], {"params": {"W1": np.zeros(2)}}, []]
    assert inputs_modified(before, after) == ["[0][1]"]
    assert inputs_modified(before, before) == []


def test_static_check_flags_imports_anywhere_and_dynamic_code():
    source = (
        "import numpy as np\nimport math\nimport torch\n"
        "def relu(z):\n    import scipy.special\n    return np.maximum(z, 0)\n"
        "def sigmoid(z):\n    return eval('z')\n"
        "def helper():\n    return open('x')\n"
    )
    report = check_source(source, "activations.py", ["relu", "sigmoid"])
    assert report.module_wide == ["line 3: imports torch", "line 10: opens files"]
    assert report.per_function == {"relu": ["line 5: imports scipy.special"], "sigmoid": ["line 8: calls eval"]}
    assert report.violations_for("relu") == report.module_wide + ["line 5: imports scipy.special"]


def test_static_check_allows_numpy_math_likes_and_sibling_modules():
    source = (
        "from __future__ import annotations\nimport numpy as np\nfrom functools import reduce\n"
        "from collections import OrderedDict\nfrom activations import sigmoid\n"
    )
    report = check_source(source, "backprop.py", [], siblings=("activations",))
    assert report.module_wide == [] and report.syntax_error is None


def test_static_check_reports_a_syntax_error_with_its_line():
    report = check_source("def f(:\n", "conv.py", [])
    assert report.syntax_error.startswith("conv.py does not parse (line 1)")


def test_relative_error_is_not_claimed_where_every_wrong_entry_is_expected_zero():
    # the case: relu_grad with x >= 0 gives 1 where 0 is expected; the
    # right entries' relative error (0) says nothing about the mistake
    found = compare(np.array([0.0, 2.0, 1.0]), np.array([1.0, 2.0, 1.0]), 1e-6, 1e-9)
    assert found.max_rel is None and found.max_abs == 1.0
    text = found.describe()
    assert "rel error" not in text and "every wrong entry is expected to be 0" in text
    assert "expected 0, got 1" in text


def test_errors_are_measured_over_the_wrong_entries_only():
    # entry 0 passes (within atol) although its relative error is huge; entry 2
    # passes within rtol although its absolute error is the largest
    exp = np.array([1e-12, 2.0, 1e7])
    got = np.array([5e-10, 3.0, 1e7 + 1.0])
    found = compare(exp, got, 1e-6, 1e-9)
    assert found.index == (1,) and found.wrong == 1 and found.size == 3
    assert found.max_abs == pytest.approx(1.0) and found.max_rel == pytest.approx(0.5)


def test_relative_error_skips_wrong_entries_expected_zero_but_keeps_the_others():
    found = compare(np.array([0.0, 2.0]), np.array([0.5, 3.0]), 1e-6, 1e-9)
    assert found.max_rel == pytest.approx(0.5) and found.max_abs == pytest.approx(1.0)
    assert "max abs error 1, max rel error 0.5" in found.describe()


def test_feedback_counts_the_wrong_entries():
    exp = np.zeros((3, 4))
    got = exp.copy()
    got[1, 1:3] = 7.0
    assert "wrong values in 2 of 12 entries; first mismatch at index (1, 1)" in compare(exp, got, 1e-6, 1e-9).describe()
    assert (
        "wrong values in 1 of 3 entries; first mismatch at index (2,): expected 1, got 0"
        in compare(np.array([0, 1, 1]), np.array([0, 1, 0]), 1e-6, 1e-9).describe()
    )


def test_a_single_number_reads_as_one_value_without_max_or_index():
    assert (
        compare(0.5, 0.6, 1e-6, 1e-9).describe() == "wrong value: expected 0.5, got 0.6 (abs error 0.1, rel error 0.2)"
    )
    assert compare(0.0, 1.0, 1e-6, 1e-9).describe() == "wrong value: expected 0, got 1 (abs error 1)"


@pytest.mark.parametrize(
    "expected, got", [(1.0, 1.0000023), (-0.91981618, -0.91981718), (123456.789, 123457.0), (1e-12, 3e-9)]
)
def test_expected_and_got_are_printed_with_enough_digits_to_differ(expected, got):
    exp_text, got_text = format_pair(np.float64(expected), np.float64(got))
    assert exp_text != got_text
    assert float(exp_text) == pytest.approx(expected, rel=1e-6)
    assert float(got_text) == pytest.approx(got, rel=1e-6)
    # and no more digits than that takes: 6 significant digits when they already differ
    assert format_pair(0.5, 0.75) == ("0.5", "0.75")
