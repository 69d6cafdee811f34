"""Attacks and classic bugs, end to end through ``nngrade``: each gets its own status, the rest pass.

One submission (the model answers, a few definitions overridden per module)
carries every attack at once, each in a different exercise, and is graded in a
single full-catalogue run: proof that a hang, a crash, an exit, a memory bomb,
a blocked import or a tampering attempt in one exercise leaves every other
exercise graded as if it were alone.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.catalogue import EXERCISES
from tests.grader.conftest import MODEL_EXERCISES, MODEL_MODULES, ROOT, by_name, copy_model, grade_json

TIMEOUT = 4  # seconds per exercise in this run: the endless loop costs this much

#: Appended to a copied model module: later definitions override the model's.
OVERRIDES = {
    "activations": """
        def sigmoid(z):                      # an endless loop
            while True:
                pass

        def sigmoid_grad(z):                 # kills its own process, no import needed
            np._pytesttester.os._exit(7)

        def tanh_grad(z):                    # a memory bomb: 8 TB
            return np.ones(1 << 40)

        def relu(z):                         # imports the reference behind the static check's back
            load = getattr(np, "__builtins__")["__import__"]
            return load("solutions.activations").activations.relu(z)

        def relu_grad(z):                    # reads the caller's frames for something to copy
            try:
                raise RuntimeError
            except RuntimeError as exc:
                frame = exc.__traceback__.tb_frame
            found = None
            while frame is not None:
                for key, value in list(frame.f_locals.items()):
                    if key in ("expected", "exp", "want", "reference"):
                        found = value
                frame = frame.f_back
            return found if found is not None else np.full(np.shape(z), 0.5)

        def leaky_relu(z, alpha=0.01):       # patches NumPy's comparisons, prints a fake result
            np.allclose = lambda *a, **k: True
            np.array_equal = lambda *a, **k: True
            np.testing.assert_allclose = lambda *a, **k: None
            print('{"status": "passed", "score": 1, "max_score": 1}')
            print("leaky_relu PASSED 1/1")
            return 2.0 * z

        class _AlwaysEqual(np.ndarray):      # an ndarray subclass that claims equality
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

        def leaky_relu_grad(z, alpha=0.01):
            return np.zeros(np.shape(z)).view(_AlwaysEqual)

        def softmax(z, axis=-1):             # classic bug: the wrong axis
            z = np.asarray(z, dtype=np.float64)
            e = np.exp(z - z.max(axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
    """,
    "backprop": """
        def affine_forward(x, W, b):         # classic bug: the bias is missing
            return x @ W, (x, W, b)

        def _fails(x):
            raise ValueError("shapes do not match")

        def sigmoid_forward(x):              # raises: the traceback shows this file only
            return _fails(x)

        def tanh_forward(x):
            raise NotImplementedError

        def relu_forward(x):                 # right values, but modifies its input
            np.maximum(x, 0, out=x)
            return x.copy(), x.copy()

        def relu_backward(dout, cache):      # reads a reference file
            opener = getattr(np, "__builtins__")["open"]
            with opener(SOLUTION_FILE) as f:
                f.read()
            return dout * (cache > 0)
    """,
    "attention": """
        _model_positional_encoding = positional_encoding

        def positional_encoding(n_positions, d_model):   # hides a blocked import, then answers right
            try:
                getattr(np, "__builtins__")["__import__"]("torch")
            except BaseException:
                pass
            return _model_positional_encoding(n_positions, d_model)

        def self_attention_basic(X):                     # forges a result on every open descriptor
            os = np._pytesttester.os
            fake = b'{"load": {"outcome": "ok"}, "cases": [], "violations": [], "params": null}'
            for fd in range(3, 64):
                try:
                    os.write(fd, fake)
                except OSError:
                    pass
            os._exit(0)
    """,
    # an exit at import time: every exercise of the module
    "losses": "raise SystemExit(3)\n",
    # prints at import time are never parsed: every exercise still passes
    "rnn": 'print("{\\"score\\": 100, \\"max_score\\": 100}")\nprint("ALL PASSED")\n',
}
#: Put before a copied model module.
PREPENDS = {"perceptron": "import torch\n"}

#: exercise -> (status, a phrase the message must contain)
EXPECTED = {
    "sigmoid": ("timeout", f"limit of {TIMEOUT} s"),
    "sigmoid_grad": ("error", "exit code 7"),
    "tanh_grad": ("error", "memory limit"),
    "relu": ("forbidden", "importing solutions"),
    "relu_grad": ("failed", "wrong values"),
    "leaky_relu": ("failed", "wrong values"),
    "leaky_relu_grad": ("failed", "wrong values"),
    "softmax": ("failed", "axis"),
    "affine_forward": ("failed", "bias"),
    "sigmoid_forward": ("error", "ValueError: shapes do not match"),
    "sigmoid_backward": ("error", "your sigmoid_forward raised ValueError"),
    "tanh_forward": ("not_implemented", "NotImplementedError"),
    "tanh_backward": ("not_implemented", "needs your tanh_forward first"),
    "relu_forward": ("failed", "modified the input x"),
    "relu_backward": ("error", "No such file or directory"),  # the sandbox holds no reference file
    "positional_encoding": ("forbidden", "importing torch"),
    "self_attention_basic": ("error", "tamper"),
    # a module-wide attack reaches every exercise of the module, as the catalogue lists them
    **{n: ("error", "sys.exit(3)") for n, ex in EXERCISES.items() if ex.module == "losses"},
    **{n: ("forbidden", "imports torch") for n, ex in EXERCISES.items() if ex.module == "perceptron"},
}
#: Exercises that call an attacked function of their own module (the model's
#: two_layer_net_loss uses its module's affine_forward): no claim made.
DEPENDENT = {"two_layer_net_loss"}


def build_attacked(dest: Path) -> Path:
    copy_model(dest)
    for module, code in OVERRIDES.items():
        path = dest / f"{module}.py"
        code = textwrap.dedent(code).replace("SOLUTION_FILE", repr(str(ROOT / "solutions" / "activations.py")))
        path.write_text(path.read_text() + "\n\n" + code)
    for module, code in PREPENDS.items():
        path = dest / f"{module}.py"
        path.write_text(code + path.read_text())
    return dest


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacked")
    sub = build_attacked(tmp / "submission")
    code, report = grade_json(tmp, "--submission", str(sub), "--seed", "11", "--timeout", str(TIMEOUT))
    return code, by_name(report), sub


def test_modules_under_attack_have_model_answers():
    assert {"perceptron", "activations", "losses", "backprop", "rnn", "attention"} <= set(MODEL_MODULES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attacked_exercise_gets_its_status_and_says_why(attacked, name):
    _, results, _ = attacked
    status, phrase = EXPECTED[name]
    got = results[name]
    assert got["status"] == status, got["message"]
    assert phrase in got["message"] + (got["hint"] or "")
    assert got["score"] == 0


def test_every_other_exercise_still_passes(attacked):
    _, results, _ = attacked
    others = [n for n in MODEL_EXERCISES if n not in EXPECTED and n not in DEPENDENT]
    assert len(others) >= 10
    not_passed = {n: results[n]["message"] for n in others if results[n]["status"] != "passed"}
    assert not not_passed


def test_attacked_run_exits_1(attacked):
    code, _, _ = attacked
    assert code == 1


def test_student_traceback_shows_only_their_file(attacked):
    _, results, _ = attacked
    message = results["sigmoid_forward"]["message"]
    assert 'File "backprop.py"' in message and "in _fails" in message
    assert "_worker.py" not in message and "grader" not in message


def test_import_time_prints_are_ignored(attacked):
    _, results, _ = attacked
    assert all(results[n]["status"] == "passed" for n in MODEL_EXERCISES if n.startswith(("rnn", "lstm")))


def test_fake_printed_result_does_not_pass(attacked):
    _, results, _ = attacked
    assert results["leaky_relu"]["status"] == "failed"


def test_attacks_leave_the_submission_files_alone(attacked):
    _, _, sub = attacked
    assert (sub / "activations.py").read_text().count("def sigmoid(") == 2  # model's + override


def test_a_link_to_the_model_answers_is_forbidden(tmp_path):
    sub = copy_model(tmp_path / "sub")
    (sub / "activations.py").unlink()
    (sub / "activations.py").symlink_to(ROOT / "solutions" / "model" / "activations.py")
    code, report = grade_json(tmp_path, "relu", "--submission", str(sub), "--seed", "1")
    entry = by_name(report)["relu"]
    assert entry["status"] == "forbidden" and "outside the submission folder" in entry["message"]


def test_a_link_out_of_the_submission_never_reaches_a_worker(tmp_path):
    """Workers run a staged copy: a module linked to the model answers is not copied at all."""
    import shutil

    from grader.sandbox import stage

    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "activations.py").symlink_to(ROOT / "solutions" / "model" / "activations.py")
    (sub / "helpers.py").write_text("X = 1\n")
    staging = stage(sub)
    try:
        assert sorted(p.name for p in (staging / "submission").iterdir()) == ["helpers.py"]
    finally:
        shutil.rmtree(staging)
