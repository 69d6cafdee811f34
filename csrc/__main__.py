"""``python -m csrc``: which build of the kernels is active and why, what the CPU offers, every
build's state, and the threading. Exit status 0; importing csrc with an impossible
NNFUND_KERNELS already fails before this runs, with the reason (BuildUnavailable)."""

import os
import platform

import csrc


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report():
    """The lines ``python -m csrc`` prints."""
    features = " ".join(f"{name}{'+' if present else '-'}" for name, present in csrc._cpu_features.items())
    lines = [
        f"active build: {csrc.active_build()} ({csrc.active_build_reason()})",
        f"CPU: {_cpu_name()}, {os.cpu_count()} logical cores; features: {features}",
        f"{csrc.BUILD_ENV}={os.environ.get(csrc.BUILD_ENV, '(unset)')}",
        "builds:",
    ]
    for name, (usable, reason) in csrc.builds().items():
        lines.append(f"  {name:<8} {'usable' if usable else 'unusable'}: {reason}")
    lines.append(f"OpenMP: {'on' if csrc.openmp_enabled() else 'off'}, threads: {csrc.get_num_threads()}")
    return lines


if __name__ == "__main__":
    try:
        print("\n".join(report()))
    except BrokenPipeError:  # python -m csrc | head: the reader went away; end quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
