"""csrc.conv2d_forward / conv2d_backward and conv_transpose2d_forward / _backward vs PyTorch CPU
(and conv2d vs a naive NumPy loop), on 1 thread and on all cores, float32 and float64, plus the
peak extra memory of one conv2d forward and one backward call.

    python benchmarks/bench_conv.py [--repeats 5] [--dtypes float32,float64] [--ops conv2d,...]
                                   [--clock wall|cpu] [--no-memory]

Shapes: N=32 C=16 32x32 F=32 3x3 pad 1, and N=64 C=3 32x32 F=16 5x5 pad 2 (stride 1). The
transposed convolution runs the adjoint of each: input (N, F, 32, 32), weights (F, C, K, K) as
(C_in, C_out, KH, KW), same padding, output (N, C, 32, 32).
Each thread count runs in its own subprocess (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set,
csrc.set_num_threads and torch.set_num_threads to the same count). PyTorch's backward is timed
alone (autograd.grad on a retained graph). The naive loop visits every output pixel in Python;
it is timed on one image and scaled by N (the tables say so). Goal: csrc time <= 1.5x PyTorch's.

Memory: each measurement runs in a fresh process; the peak resident set (VmHWM, reset through
/proc/self/clear_refs) during one call, minus the resident set before it and minus the returned
arrays, is the call's working memory. It is printed next to what a full-batch im2col buffer
(N * C*KH*KW * OH*OW elements) would need.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness

CONFIGS = {
    "N=32 C=16 32x32 F=32 3x3 pad 1": dict(n=32, c=16, h=32, w=32, f=32, k=3, pad=1),
    "N=64 C=3 32x32 F=16 5x5 pad 2": dict(n=64, c=3, h=32, w=32, f=16, k=5, pad=2),
}


def _inputs(cfg, dtype, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg["n"], cfg["c"], cfg["h"], cfg["w"])).astype(dtype)
    w = rng.standard_normal((cfg["f"], cfg["c"], cfg["k"], cfg["k"])).astype(dtype)
    b = rng.standard_normal(cfg["f"]).astype(dtype)
    oh = cfg["h"] + 2 * cfg["pad"] - cfg["k"] + 1
    ow = cfg["w"] + 2 * cfg["pad"] - cfg["k"] + 1
    dout = rng.standard_normal((cfg["n"], cfg["f"], oh, ow)).astype(dtype)
    return x, w, b, dout


def naive_forward(x, w, b, pad):
    """One output pixel at a time: the window times every filter."""
    import numpy as np

    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - k + 1, wd + 2 * pad - k + 1
    out = np.empty((n, f, oh, ow), x.dtype)
    wf = w.reshape(f, -1)
    for i in range(n):
        for r in range(oh):
            for s in range(ow):
                out[i, :, r, s] = wf @ xp[i, :, r : r + k, s : s + k].ravel() + b
    return out


def naive_backward(dout, x, w, pad):
    """One output pixel at a time: scatter its gradient into the window and the filters."""
    import numpy as np

    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(n):
        for r in range(dout.shape[2]):
            for s in range(dout.shape[3]):
                g = dout[i, :, r, s]
                dxp[i, :, r : r + k, s : s + k] += np.tensordot(g, w, axes=1)
                dw += g[:, None, None, None] * xp[i, None, :, r : r + k, s : s + k]
    return dxp[:, :, pad : pad + h, pad : pad + wd], dw, dout.sum(axis=(0, 2, 3))


def _conv2d_run(cfg, dtype, repeats, torch, csrc, np):
    x, w, b, dout = _inputs(cfg, dtype)
    pad = cfg["pad"]
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    dt = torch.tensor(dout)
    out_t = torch.nn.functional.conv2d(xt, wt, bt, padding=pad)
    grads_t = torch.autograd.grad(out_t, (xt, wt, bt), dt, retain_graph=True)
    out = csrc.conv2d_forward(x, w, b, padding=pad)
    grads = csrc.conv2d_backward(dout, x, w, padding=pad)
    pairs = [(out, out_t.detach().numpy())] + [(g, gt.numpy()) for g, gt in zip(grads, grads_t)]

    def torch_forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, bt, padding=pad)

    r = dict(err=max(float(np.abs(a - e).max() / np.abs(e).max()) for a, e in pairs))
    r["ours_fwd"] = _harness.best_time(lambda: csrc.conv2d_forward(x, w, b, padding=pad), repeats)
    r["ours_bwd"] = _harness.best_time(lambda: csrc.conv2d_backward(dout, x, w, padding=pad), repeats)
    r["torch_fwd"] = _harness.best_time(torch_forward, repeats)
    r["torch_bwd"] = _harness.best_time(
        lambda: torch.autograd.grad(out_t, (xt, wt, bt), dt, retain_graph=True), repeats
    )
    one, scale = slice(0, 1), cfg["n"]
    r["naive_fwd"] = scale * _harness.best_time(lambda: naive_forward(x[one], w, b, pad), 1, min_time=0)
    r["naive_bwd"] = scale * _harness.best_time(lambda: naive_backward(dout[one], x[one], w, pad), 1, min_time=0)
    return r


def _conv_transpose2d_run(cfg, dtype, repeats, torch, csrc, np):
    """The adjoint of the conv2d shape: input like its dout, output like its x."""
    x_conv, w, _, dout_conv = _inputs(cfg, dtype)
    x, dout = dout_conv, x_conv
    b = np.random.default_rng(1).standard_normal(cfg["c"]).astype(dtype)
    pad = cfg["pad"]
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    dt = torch.tensor(dout)
    out_t = torch.nn.functional.conv_transpose2d(xt, wt, bt, padding=pad)
    grads_t = torch.autograd.grad(out_t, (xt, wt, bt), dt, retain_graph=True)
    out = csrc.conv_transpose2d_forward(x, w, b, padding=pad)
    grads = csrc.conv_transpose2d_backward(dout, x, w, padding=pad)
    pairs = [(out, out_t.detach().numpy())] + [(g, gt.numpy()) for g, gt in zip(grads, grads_t)]

    def torch_forward():
        with torch.no_grad():
            torch.nn.functional.conv_transpose2d(xt, wt, bt, padding=pad)

    r = dict(err=max(float(np.abs(a - e).max() / np.abs(e).max()) for a, e in pairs))
    r["ours_fwd"] = _harness.best_time(lambda: csrc.conv_transpose2d_forward(x, w, b, padding=pad), repeats)
    r["ours_bwd"] = _harness.best_time(lambda: csrc.conv_transpose2d_backward(dout, x, w, padding=pad), repeats)
    r["torch_fwd"] = _harness.best_time(torch_forward, repeats)
    r["torch_bwd"] = _harness.best_time(
        lambda: torch.autograd.grad(out_t, (xt, wt, bt), dt, retain_graph=True), repeats
    )
    return r


OPS = {"conv2d": _conv2d_run, "conv_transpose2d": _conv_transpose2d_run}


def worker(threads, repeats, dtypes, ops):
    import numpy as np
    import torch

    import csrc

    csrc.set_num_threads(threads)
    torch.set_num_threads(threads)
    results = []
    for op in ops:
        for name, cfg in CONFIGS.items():
            for dtype in dtypes:
                r = OPS[op](cfg, dtype, repeats, torch, csrc, np)
                results.append(dict(r, op=op, config=name, dtype=dtype))
    print(json.dumps(results))


def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_worker(name, dtype, op):
    """Working memory (bytes) of one call, in this fresh process."""
    import gc

    import numpy as np

    import csrc

    cfg = CONFIGS[name]
    x, w, b, dout = _inputs(cfg, dtype)
    small = _inputs(dict(cfg, n=1, h=8, w=8), dtype)  # warm-up: lazy initialisation
    csrc.conv2d_forward(*small[:3], padding=cfg["pad"])
    csrc.conv2d_backward(small[3], *small[:2], padding=cfg["pad"])
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS
        f.write("5")
    before = _rss_kib("VmRSS")
    if op == "forward":
        result = (csrc.conv2d_forward(x, w, b, padding=cfg["pad"]),)
    else:
        result = csrc.conv2d_backward(dout, x, w, padding=cfg["pad"])
    peak = _rss_kib("VmHWM")
    returned = sum(a.nbytes for a in result)
    ckk = cfg["c"] * cfg["k"] ** 2
    p = dout.shape[2] * dout.shape[3]
    print(
        json.dumps(
            dict(
                extra=max(0, (peak - before) * 1024 - returned),
                returned=returned,
                full_im2col=cfg["n"] * ckk * p * np.dtype(dtype).itemsize,
            )
        )
    )


def _run_memory(name, dtype, op):
    import subprocess

    env = dict(os.environ, OMP_NUM_THREADS=str(os.cpu_count() or 1), OPENBLAS_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, __file__, "--memory", name, dtype, op], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mib(nbytes):
    return f"{nbytes / 2**20:.1f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--no-memory", action="store_true", help="skip the memory table")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: time 1-thread rows by the thread's CPU time (a shared machine)",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clock == "cpu":
        os.environ[_harness.CLOCK_ENV] = "cpu"
    dtypes, ops = args.dtypes.split(","), args.ops.split(",")
    if args.memory:
        return memory_worker(*args.memory)
    if args.worker:
        return worker(args.worker, args.repeats, dtypes, ops)

    print(f"conv2d and conv_transpose2d (stride 1), best of {args.repeats}; {_harness.machine()}")
    print(f"timing: {_harness.clock_note()}")
    print("naive = Python loop over output pixels, timed on 1 image and scaled by N\n")
    rows = []
    for threads in _harness.thread_counts():
        for r in _harness.run_worker(
            __file__, threads, "--repeats", args.repeats, "--dtypes", args.dtypes, "--ops", args.ops
        ):
            cfg = CONFIGS[r["config"]]
            p = (cfg["h"] + 2 * cfg["pad"] - cfg["k"] + 1) * (cfg["w"] + 2 * cfg["pad"] - cfg["k"] + 1)
            flops = 2.0 * cfg["n"] * cfg["f"] * cfg["c"] * cfg["k"] ** 2 * p
            for d, mult in (("fwd", 1), ("bwd", 2)):
                ours, tt = r[f"ours_{d}"], r[f"torch_{d}"]
                naive = r.get(f"naive_{d}")
                rows.append(
                    [
                        threads,
                        r["op"],
                        r["config"],
                        r["dtype"],
                        d,
                        f"{ours * 1e3:.2f}",
                        f"{mult * flops / ours / 1e9:.1f}",
                        f"{tt * 1e3:.2f}",
                        f"{ours / tt:.2f}x",
                        f"{naive * 1e3:.0f}" if naive else "",
                        f"{naive / ours:.0f}x" if naive else "",
                        f"{r['err']:.1e}",
                    ]
                )
    print(
        _harness.markdown_table(
            [
                "threads",
                "op",
                "shape",
                "dtype",
                "pass",
                "csrc ms",
                "csrc GFLOP/s",
                "torch ms",
                "csrc / torch time",
                "naive ms (scaled)",
                "speed-up vs naive",
                "max rel. diff vs torch",
            ],
            rows,
        )
    )
    if args.no_memory:
        return

    print(f"\nPeak extra memory of one conv2d call ({os.cpu_count()} threads), beyond inputs and returned arrays:\n")
    mem_rows = []
    for name in CONFIGS:
        for dtype in dtypes:
            for op in ("forward", "backward"):
                m = _run_memory(name, dtype, op)
                mem_rows.append([name, dtype, op, _mib(m["extra"]), _mib(m["returned"]), _mib(m["full_im2col"])])
    print(
        _harness.markdown_table(
            ["shape", "dtype", "call", "csrc working memory", "returned arrays", "full-batch im2col would need"],
            mem_rows,
        )
    )


if __name__ == "__main__":
    main()
