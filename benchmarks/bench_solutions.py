"""Time the kernel-backed references against the NumPy model answers.

Two tables:

1. Every exercise of the catalogue at grading sizes: all of its cases (the same
   inputs the grader makes, ``Exercise.cases``) run through the exercise's
   protocol on the reference (``solutions.<module>``, products on our Cython
   kernels) and on the model answer (``solutions.model.<module>``, NumPy, so BLAS
   for its products); a backward is timed alone, on the cache of a forward made
   beforehand. The table shows the best time of all the cases together, the
   ratio model / reference (1 or above: the reference is at least as fast) and
   the largest difference between their outputs (a benchmark of wrong code is
   worthless).
2. Larger shapes (conv on CIFAR-like batches, attention at a realistic size):
   median time, the same ratio, and torch's time as a yardstick.

Usage (from the repository root, after the kernels are built)::

    python benchmarks/bench_solutions.py [--repeat 9] [--only conv attention] [--no-torch]
                                         [--no-grading] [--no-large] [--clock wall|cpu]

Threads: csrc reads OMP_NUM_THREADS and NumPy's BLAS reads OPENBLAS_NUM_THREADS at
import, so pin both from the environment to compare like with like, e.g.
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_solutions.py``;
torch is given csrc's thread count. The header names the CPU and the active build
(``NNFUND_KERNELS`` forces one).
"""

import argparse
import importlib
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness


def _conv_case(N, C, H, W, F, K, pad, direction):
    """conv2d forward, or backward alone (the forward that makes its cache is not timed)."""

    def make(rng):
        x = rng.standard_normal((N, C, H, W))
        w = rng.standard_normal((F, C, K, K)) / np.sqrt(C * K * K)
        b = rng.standard_normal(F)
        dout = rng.standard_normal((N, F, H + 2 * pad - K + 1, W + 2 * pad - K + 1))

        def prepare(mod):
            if direction == "forward":
                return lambda: mod.conv2d_forward(x, w, b, stride=1, padding=pad)[0]
            _, cache = mod.conv2d_forward(x, w, b, stride=1, padding=pad)
            return lambda: mod.conv2d_backward(dout, cache)

        def prepare_torch(torch):
            F_ = torch.nn.functional
            tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
            if direction == "forward":

                def run():
                    with torch.no_grad():
                        return F_.conv2d(tx, tw, tb, padding=pad)

                return run
            out = F_.conv2d(tx, tw, tb, padding=pad)
            td = torch.tensor(dout)
            return lambda: torch.autograd.grad(out, (tx, tw, tb), td, retain_graph=True)

        return prepare, prepare_torch

    name = f"conv2d {direction} N={N} C={C} {H}x{W} F={F} {K}x{K} pad {pad}"
    return name, "conv", make


def _sdpa_case(N, heads, L, dk):
    def make(rng):
        Q, K, V, dout = (rng.standard_normal((N, heads, L, dk)) for _ in range(4))
        mask = np.tril(np.ones((L, L), dtype=bool))

        def prepare(mod):
            def run():
                _, cache = mod.scaled_dot_product_attention(Q, K, V, mask)
                return mod.scaled_dot_product_attention_backward(dout, cache)

            return run

        def prepare_torch(torch):
            tQ, tK, tV = (torch.tensor(a, requires_grad=True) for a in (Q, K, V))
            tmask, td = torch.tensor(mask), torch.tensor(dout)

            def run():
                out = torch.nn.functional.scaled_dot_product_attention(tQ, tK, tV, attn_mask=tmask)
                return torch.autograd.grad(out, (tQ, tK, tV), td)

            return run

        return prepare, prepare_torch

    return f"attention fwd+bwd N={N} heads={heads} L={L} dk={dk} causal", "attention", make


def _mha_case(N, L, E, heads):
    def make(rng):
        x, dout = (rng.standard_normal((N, L, E)) for _ in range(2))
        Ws = [rng.standard_normal((E, E)) / np.sqrt(E) for _ in range(4)]

        def prepare(mod):
            def run():
                _, cache = mod.multi_head_attention_forward(x, *Ws, heads)
                return mod.multi_head_attention_backward(dout, cache)

            return run

        def prepare_torch(torch):
            F_ = torch.nn.functional
            tx = torch.tensor(x, requires_grad=True)
            tW = [torch.tensor(W, requires_grad=True) for W in Ws]
            zeros, td = torch.zeros(3 * E, dtype=tx.dtype), torch.tensor(dout)

            def run():
                xt = tx.transpose(0, 1)
                out, _ = F_.multi_head_attention_forward(
                    xt,
                    xt,
                    xt,
                    E,
                    heads,
                    torch.cat([W.T for W in tW[:3]]),
                    zeros,
                    None,
                    None,
                    False,
                    0.0,
                    tW[3].T,
                    zeros[:E],
                    training=False,
                    need_weights=False,
                )
                return torch.autograd.grad(out.transpose(0, 1), (tx, *tW), td)

            return run

        return prepare, prepare_torch

    return f"multi-head attn fwd+bwd N={N} L={L} E={E} heads={heads}", "attention", make


CASES = [
    _conv_case(32, 16, 32, 32, 32, 3, 1, "forward"),
    _conv_case(32, 16, 32, 32, 32, 3, 1, "backward"),
    _conv_case(64, 3, 32, 32, 16, 5, 2, "forward"),
    _conv_case(64, 3, 32, 32, 16, 5, 2, "backward"),
    _sdpa_case(8, 8, 128, 64),
    _mha_case(8, 128, 256, 8),
]


def _median_time(fn, repeat):
    """Median seconds of ``repeat`` calls after one warm-up call; also the warm-up's result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _max_diff(a, b):
    """Largest absolute difference between two results (nested tuples, lists, dicts, arrays);
    inf when their structure or a non-numeric value differs."""
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return float("inf")
        return max((_max_diff(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, (tuple, list)):
        if not isinstance(b, (tuple, list)) or len(a) != len(b):
            return float("inf")
        return max((_max_diff(x, y) for x, y in zip(a, b)), default=0.0)
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return float("inf")
    if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        return 0.0 if np.array_equal(a, b) else float("inf")
    if not a.size:
        return 0.0
    with np.errstate(invalid="ignore"):
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    same = (a == b) | (np.isnan(a.astype(np.float64)) & np.isnan(b.astype(np.float64)))
    return float(np.max(np.where(same, 0.0, diff)))


def _protocol(kind, func, forward, case):
    """A call of `func` on `case` by the grader's protocol (see grader.spec): for a backward,
    the forward runs first, outside the timed call, to make the cache."""
    args, kwargs, upstream = tuple(case.args), dict(case.kwargs), tuple(case.upstream)
    if kind != "backward":
        return lambda: func(*args, **kwargs)
    cache = forward(*args, **kwargs)[-1]
    return lambda: func(*upstream, cache)


def _outputs(kind, result):
    """What the grader compares: a forward's outputs without the cache."""
    return result[:-1] if kind == "forward" else result


def _interleaved_best(fns, repeat, min_time=0.02):
    """Best time per call of each of `fns` over `repeat` rounds, the functions taking turns
    within each round so that a burst of load from other processes hits them alike."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _harness.best_time(fn, 1, min_time=min_time))
    return best


def grading_sizes(repeat, only):
    """One row per exercise: best time of all its cases on the reference and the model. An
    exercise whose reference is the model answer's own function is listed as such, untimed:
    its ratio is 1 by construction, and timing it would only measure the noise."""
    from grader.catalogue import EXERCISES

    rows, slower = [], []
    for name, ex in EXERCISES.items():
        if only and ex.module not in only:
            continue
        cases = ex.cases(np.random.default_rng(0))
        funcs = []
        for package in ("solutions", "solutions.model"):
            mod = importlib.import_module(f"{package}.{ex.module}")
            funcs.append((getattr(mod, name), getattr(mod, ex.forward) if ex.forward else None))
        if funcs[0] == funcs[1]:
            rows.append([ex.module, name, len(cases), "", "", "1 (same code)", ""])
            continue
        with np.errstate(all="ignore"):
            calls = [[_protocol(ex.kind, func, forward, c) for c in cases] for func, forward in funcs]
            outs = [[_outputs(ex.kind, call()) for call in group] for group in calls]
            t_ref, t_model = _interleaved_best(
                [lambda group=group: [call() for call in group] for group in calls], repeat
            )
        ratio = t_model / t_ref
        if ratio < 1:
            slower.append(f"{name} ({ratio:.2f}x)")
        rows.append(
            [
                ex.module,
                name,
                len(cases),
                f"{t_ref * 1e6:.0f}",
                f"{t_model * 1e6:.0f}",
                f"{ratio:.2f}x",
                f"{_max_diff(*outs):.1e}",
            ]
        )
    print(
        _harness.markdown_table(
            ["module", "exercise", "cases", "reference us", "model us", "model / reference", "max |diff|"], rows
        )
    )
    print(f"\nreferences slower than their model answer: {', '.join(slower) or 'none'}")


def large_shapes(repeat, only, torch):
    rows = []
    for name, module, make in CASES:
        if only and module not in only:
            continue
        ref, model = (importlib.import_module(m) for m in (f"solutions.{module}", f"solutions.model.{module}"))
        prepare, prepare_torch = make(np.random.default_rng(0))
        t_ref, out_ref = _median_time(prepare(ref), repeat)
        t_model, out_model = _median_time(prepare(model), repeat)
        t_torch = _median_time(prepare_torch(torch), repeat)[0] if torch else float("nan")
        rows.append(
            [
                name,
                f"{t_ref * 1e3:.1f}",
                f"{t_model * 1e3:.1f}",
                f"{t_model / t_ref:.2f}x",
                f"{t_torch * 1e3:.1f}",
                f"{_max_diff(out_ref, out_model):.1e}",
            ]
        )
    print(
        _harness.markdown_table(
            ["case (float64)", "reference ms", "model ms", "model / reference", "torch ms", "max |diff|"], rows
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed rounds per case")
    parser.add_argument("--only", nargs="*", default=None, help="modules to bench, e.g. conv attention")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch yardstick")
    parser.add_argument("--no-grading", action="store_true", help="skip the grading-size table")
    parser.add_argument("--no-large", action="store_true", help="skip the larger shapes")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: with OMP_NUM_THREADS=1, time the grading-size table by the thread's CPU time (a shared machine)",
    )
    args = parser.parse_args(argv)
    if args.clock == "cpu":
        os.environ[_harness.CLOCK_ENV] = "cpu"

    import csrc

    torch = None
    if not args.no_torch and not args.no_large:
        try:
            import torch
        except ImportError:
            torch = None
        else:
            torch.set_num_threads(csrc.get_num_threads())

    print(
        f"{_harness.machine()}; csrc threads {csrc.get_num_threads()}; numpy {np.__version__} "
        f"(OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}); "
        f"torch {torch.__version__ if torch else 'absent'}"
    )
    if not args.no_grading:
        print(
            f"\nEvery exercise at grading sizes (all its cases), best of {args.repeat}; timing: "
            f"{_harness.clock_note()}:\n"
        )
        grading_sizes(args.repeat, args.only)
    if not args.no_large:
        print(f"\nLarger shapes, median of {args.repeat}:\n")
        large_shapes(args.repeat, args.only, torch)


if __name__ == "__main__":
    main()
