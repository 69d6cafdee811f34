"""Every student stub in exercises/ is a faithful, teaching, not-yet-implemented twin of its model answer.

For each module of the catalogue: the stub imports on its own; it defines exactly
the functions of the model answer (solutions/model/<module>.py), with identical
signatures, which are exactly the functions of the exercise API; each function
raises NotImplementedError when called with valid arguments; each docstring
documents its parameters, returns and array shapes; and the module imports only
NumPy and math-like standard modules.
"""

import ast
import importlib.util
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from grader.catalogue import EXERCISES, MODULES, UNGRADED

ROOT = Path(__file__).resolve().parents[2]

#: The exercise API, from the catalogue: module -> its functions (graded, or named
#: in a catalogue module's UNGRADED: taught but not graded; none today).
API = {
    module: [name for name, ex in EXERCISES.items() if ex.module == module]
    + [name for name, (m, _) in UNGRADED.items() if m == module]
    for module in MODULES
}
CASES = [(module, fn) for module, fns in API.items() for fn in fns]
#: Top-level modules a stub may import: what the grader allows (one source, the worker's guard).
from grader.worker.guard import ALLOWED_IMPORTS, DENIED_IMPORTS  # noqa: E402

#: What every stub's docstring tells students the grader refuses.
NAMED_AS_REFUSED = ("solutions", "csrc", "grader", "scipy", "torch", "tensorflow", "jax")

_rng = np.random.default_rng(0)


def _a(*shape):
    return _rng.standard_normal(shape)


_X42 = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_Y4 = np.array([0, 1, 1, 1])
_H = 4  # hidden size of the recurrent examples

#: Valid arguments of every function that is not a backward (a backward gets
#: its forward's outputs as upstream gradients, see ``valid_args``).
EXAMPLE_ARGS = {
    "step": (np.array([-1.0, 0.0, 2.0]),),
    "perceptron_predict": (np.array([1.0, 1.0]), -0.5, _X42),
    "perceptron_update": (np.array([0.0, 0.0]), 0.0, np.array([1.0, 0.0]), 1),
    "perceptron_train": (_X42, _Y4),
    "sigmoid": (_a(2, 3),),
    "sigmoid_grad": (_a(2, 3),),
    "tanh_grad": (_a(2, 3),),
    "relu": (_a(2, 3),),
    "relu_grad": (_a(2, 3),),
    "leaky_relu": (_a(2, 3),),
    "leaky_relu_grad": (_a(2, 3),),
    "softmax": (_a(2, 3),),
    "mse_loss": (_a(4), _a(4)),
    "binary_cross_entropy": (np.array([0.2, 0.7, 0.9]), np.array([0.0, 1.0, 1.0])),
    "softmax_cross_entropy": (_a(3, 4), np.array([0, 3, 1])),
    "sigmoid_unit_mse_grad": (_X42, _Y4, np.array([0.2, 0.1]), -0.1),
    "gradient_descent_step": (_X42, _Y4, np.array([0.2, 0.1]), -0.1, 0.1),
    "affine_forward": (_a(2, 3), _a(3, 4), _a(4)),
    "sigmoid_forward": (_a(2, 3),),
    "tanh_forward": (_a(2, 3),),
    "relu_forward": (_a(2, 3),),
    "two_layer_net_loss": (_a(4, 3), _Y4, {"W1": _a(3, 5), "b1": _a(5), "W2": _a(5, 1), "b2": _a(1)}),
    "corr2d": (_a(4, 5), _a(3, 3)),
    "conv2d_forward": (_a(2, 3, 5, 6), _a(4, 3, 3, 2), _a(4)),
    "max_pool2d_forward": (_a(2, 3, 4, 6), 2),
    "trans_conv2d": (_a(2, 2), _a(2, 2)),
    "conv_transpose2d_forward": (_a(2, 3, 3, 4), _a(3, 2, 2, 3), _a(2)),
    "rnn_cell_forward": (_a(2, 3), _a(2, _H), _a(3, _H), _a(_H, _H), _a(_H)),
    "lstm_cell_forward": (_a(2, 3), _a(2, _H), _a(2, _H), _a(3, 4 * _H), _a(_H, 4 * _H), _a(4 * _H)),
    "lstm_forward": (_a(2, 5, 3), _a(2, _H), _a(3, 4 * _H), _a(_H, 4 * _H), _a(4 * _H)),
    "positional_encoding": (5, 6),
    "self_attention_basic": (_a(3, 4),),
    "scaled_dot_product_attention": (_a(2, 3, 4), _a(2, 5, 4), _a(2, 5, 6)),
    "multi_head_attention_forward": (_a(2, 3, 8), _a(8, 8), _a(8, 8), _a(8, 8), _a(8, 8), 2),
    # second edition
    "sigmoid_unit_bce_grad": (_X42, _Y4, np.array([0.2, 0.1]), -0.1),
    "numerical_gradient": (lambda v: float(np.sum(v**2)), _a(2, 3)),
    "rel_error": (_a(2, 3), _a(2, 3)),
    "sgd_momentum_step": (_a(3), _a(3), np.zeros(3), 0.1),
    "rmsprop_step": (_a(3), _a(3), np.zeros(3), 0.01),
    "adam_step": (_a(3), _a(3), np.zeros(3), np.zeros(3), 1),
    "dropout_forward": (_a(4, 5), 0.5),
    "batchnorm_forward": (_a(4, 3), np.ones(3), np.zeros(3)),
    "layer_norm_forward": (_a(2, 3, 4), np.ones(4), np.zeros(4)),
    "avg_pool2d_forward": (_a(2, 3, 4, 6), 2),
    "rnn_forward": (_a(2, 5, 3), _a(2, _H), _a(3, _H), _a(_H, _H), _a(_H)),
    "feed_forward_forward": (_a(2, 3, 4), _a(4, 6), _a(6), _a(6, 4), _a(4)),
    "transformer_block_forward": (
        _a(2, 3, 4),
        {
            "Wq": _a(4, 4),
            "Wk": _a(4, 4),
            "Wv": _a(4, 4),
            "Wo": _a(4, 4),
            "W1": _a(4, 6),
            "b1": _a(6),
            "W2": _a(6, 4),
            "b2": _a(4),
            "gamma1": _a(4),
            "beta1": _a(4),
            "gamma2": _a(4),
            "beta2": _a(4),
        },
        2,
    ),
}


def load(path, name):
    """Import the file at ``path`` as a fresh module called ``name`` (not via sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stub_path(module):
    path = ROOT / "exercises" / f"{module}.py"
    assert path.exists(), f"exercises/{module}.py is missing: every catalogued module has a stub"
    return path


def stub(module):
    return load(stub_path(module), f"_stub_{module}")


def model(module):
    path = ROOT / "solutions" / "model" / f"{module}.py"
    assert path.exists(), f"solutions/model/{module}.py is missing: every catalogued module has a model answer"
    return load(path, f"_model_{module}")


def public_functions(module):
    """name -> function, for the public functions defined in (not imported into) the module."""
    return {
        name: f
        for name, f in vars(module).items()
        if inspect.isfunction(f) and not name.startswith("_") and f.__module__ == module.__name__
    }


def forward_of(backward_name, module):
    """The forward whose cache a backward consumes: x_backward <- x_forward, else x."""
    stem = backward_name[: -len("_backward")]
    return f"{stem}_forward" if hasattr(module, f"{stem}_forward") else stem


def valid_args(fn_name, model_module):
    """Arguments a correct implementation accepts; a backward gets its cache from the model answer."""
    if not fn_name.endswith("_backward"):
        return EXAMPLE_ARGS[fn_name]
    res = getattr(model_module, forward_of(fn_name, model_module))(*EXAMPLE_ARGS[forward_of(fn_name, model_module)])
    return (*(np.ones_like(out) for out in res[:-1]), res[-1])


def test_example_table_covers_every_non_backward_function():
    needed = {fn for _, fn in CASES if not fn.endswith("_backward")}
    assert needed == set(EXAMPLE_ARGS)


@pytest.mark.parametrize("module", list(API))
def test_stub_imports_and_has_a_module_docstring_naming_the_allowed_imports(module):
    mod = stub(module)
    assert mod.__doc__ and len(mod.__doc__.split()) >= 20, "the module docstring says what the module is about"
    assert "numpy" in mod.__doc__.lower(), "the module docstring says that only NumPy may be imported"
    assert set(NAMED_AS_REFUSED) <= DENIED_IMPORTS, "the docstrings name only what the grader refuses"
    missing = [name for name in NAMED_AS_REFUSED if name not in mod.__doc__]
    assert not missing, f"the module docstring names what the grader refuses; missing: {missing}"


@pytest.mark.parametrize("module", list(API))
def test_stub_defines_exactly_the_api_functions_with_the_model_signatures(module):
    stub_fns, model_fns = public_functions(stub(module)), public_functions(model(module))
    assert sorted(stub_fns) == sorted(API[module])
    assert sorted(model_fns) == sorted(API[module])
    for name in API[module]:
        assert inspect.signature(stub_fns[name]) == inspect.signature(model_fns[name]), name


@pytest.mark.parametrize("module, fn", CASES)
def test_stub_function_raises_not_implemented_on_valid_arguments(module, fn):
    stub_fn = getattr(stub(module), fn, None)
    assert stub_fn is not None, f"exercises/{module}.py has no {fn}"
    args = valid_args(fn, model(module))
    with pytest.raises(NotImplementedError, match=re.escape(fn)):
        stub_fn(*args)


@pytest.mark.parametrize("module, fn", CASES)
def test_stub_docstring_documents_parameters_returns_and_shapes(module, fn):
    doc = inspect.getdoc(getattr(stub(module), fn, None))
    assert doc, f"{fn} has no docstring"
    assert "Parameters" in doc and "Returns" in doc, f"{fn}: numpydoc Parameters / Returns sections"
    assert re.search(r"shape|\(\s*\w+\s*,\s*\w+", doc, re.IGNORECASE), f"{fn}: the docstring gives no shape"
    params = inspect.signature(getattr(stub(module), fn)).parameters
    for p in params:
        assert re.search(rf"\b{re.escape(p)}\b", doc), f"{fn}: parameter {p!r} is not documented"


@pytest.mark.parametrize("module", list(API))
def test_stub_imports_only_numpy_and_math_modules(module):
    tree = ast.parse(stub_path(module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: relative import (a stub must be self-contained)"
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in ALLOWED_IMPORTS, f"line {node.lineno}: imports {name}"
    dynamic = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not dynamic & {"__import__", "exec", "eval"}


@pytest.mark.parametrize("module", list(API))
def test_stub_bodies_only_raise(module):
    """No stub leaks a solution: every function body is a docstring and one raise."""
    tree = ast.parse(stub_path(module).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
            assert len(body) == 1 and isinstance(body[0], ast.Raise), node.name


BACKWARDS = [(module, fn) for module, fn in CASES if fn.endswith("_backward")]


@pytest.mark.parametrize("module, fn", BACKWARDS)
def test_backward_stub_sends_the_student_to_their_own_gradient_check(module, fn):
    """gradcheck.py is the students' tool: every backward's docstring, or its
    module's, says to check it with their numerical_gradient and rel_error."""
    mod = stub(module)
    text = (inspect.getdoc(getattr(mod, fn)) or "") + (mod.__doc__ or "")
    assert "numerical_gradient" in text and "rel_error" in text
    assert CASES.index(("gradcheck", "numerical_gradient")) < CASES.index((module, fn)), (
        "gradcheck comes before the first backward in the course"
    )
