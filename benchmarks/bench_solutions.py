"""Time the kernel-backed references against the NumPy model answers.

For each case the reference (``solutions.<module>``, products on our Cython
kernels) and the model answer (``solutions.model.<module>``, NumPy, so BLAS for
its products) run the same inputs; the table shows the median wall time of
several runs, the ratio model / reference (above 1: the reference is faster),
the largest difference between their outputs (a benchmark of wrong code is
worthless), and torch's time as a yardstick when torch is installed.

Usage (from the repository root, after the kernels are built)::

    python benchmarks/bench_solutions.py [--repeat 7] [--only conv attention] [--no-torch]

Threads: csrc reads OMP_NUM_THREADS and NumPy's BLAS reads OPENBLAS_NUM_THREADS at
import, so pin both from the environment to compare like with like, e.g.
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_solutions.py``;
torch is given csrc's thread count.
"""
import argparse
import importlib
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
                    xt, xt, xt, E, heads, torch.cat([W.T for W in tW[:3]]), zeros,
                    None, None, False, 0.0, tW[3].T, zeros[:E], training=False, need_weights=False,
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
    if isinstance(a, (tuple, list)):
        return max(_max_diff(x, y) for x, y in zip(a, b))
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument("--only", nargs="*", default=None, help="modules to bench: conv, attention")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch yardstick")
    args = parser.parse_args(argv)

    import csrc

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
        else:
            torch.set_num_threads(csrc.get_num_threads())

    print(f"csrc: {csrc.simd_path()}, {csrc.get_num_threads()} thread(s), openmp={csrc.openmp_enabled()}; "
          f"numpy {np.__version__} (OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}); "
          f"torch {torch.__version__ if torch else 'absent'}; median of {args.repeat} runs, float64")
    header = f"{'case':<52} {'reference':>10} {'model':>10} {'model/ref':>9} {'torch':>10} {'max|diff|':>9}"
    print(header)
    print("-" * len(header))
    for name, module, make in CASES:
        if args.only and module not in args.only:
            continue
        try:
            ref, model = (importlib.import_module(m) for m in (f"solutions.{module}", f"solutions.model.{module}"))
        except ImportError as exc:
            print(f"{name:<52} skipped: {exc}")
            continue
        prepare, prepare_torch = make(np.random.default_rng(0))
        try:
            t_ref, out_ref = _median_time(prepare(ref), args.repeat)
            t_model, out_model = _median_time(prepare(model), args.repeat)
        except Exception as exc:  # report and go on: one broken case should not hide the rest
            print(f"{name:<52} failed: {type(exc).__name__}: {exc}")
            continue
        t_torch = _median_time(prepare_torch(torch), args.repeat)[0] if torch else float("nan")
        print(f"{name:<52} {t_ref * 1e3:>8.1f}ms {t_model * 1e3:>8.1f}ms {t_model / t_ref:>8.2f}x "
              f"{t_torch * 1e3:>8.1f}ms {_max_diff(out_ref, out_model):>9.1e}")


if __name__ == "__main__":
    main()
