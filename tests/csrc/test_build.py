"""The built csrc modules: no BLAS, one module per instruction set, run-time choice of the build
(and NNFUND_KERNELS forcing one), ``python -m csrc``, OpenMP detection, thread control."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import csrc
from csrc import _kern_generic

CSRC_DIR = pathlib.Path(csrc.__file__).parent
REPO_ROOT = CSRC_DIR.parent
BUILT_MODULES = sorted(CSRC_DIR.glob("_kern_*.so")) + sorted(CSRC_DIR.glob("_kern_*.pyd"))
BLAS_MARKERS = ("gemm", "cblas_", "openblas", "mkl_", "blas")


def _module_file(name):
    return next(p for p in BUILT_MODULES if p.name.startswith(name + "."))


BUILDS = list(csrc._BUILDS)
MODULES = {name: module for name, (module, _) in csrc._BUILDS.items()}


def test_every_pyx_source_has_a_built_module():
    sources = {p.stem for p in CSRC_DIR.glob("*.pyx")}
    assert sources == set(MODULES.values())
    assert {p.name.split(".")[0] for p in BUILT_MODULES} == sources


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm is not installed")
@pytest.mark.parametrize("name", sorted(MODULES.values()))
def test_built_kernels_reference_no_blas_symbol(name):
    undefined = subprocess.run(
        ["nm", "-D", "--undefined-only", str(_module_file(name))], capture_output=True, text=True, check=True
    ).stdout.lower()
    assert undefined.strip(), "nm listed no undefined symbols at all"
    for marker in BLAS_MARKERS:
        assert marker not in undefined, f"{name} references a {marker!r} symbol"


def _disassembly(module):
    if shutil.which("objdump") is None:
        pytest.fail("objdump is needed to check the instructions of the builds (binutils)")
    if os.uname().machine not in ("x86_64", "AMD64"):
        pytest.skip("hardware: the instruction sets checked here are x86-64 ones")
    return subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(_module_file(module))], capture_output=True, text=True, check=True
    ).stdout


def test_generic_module_contains_no_avx_instructions():
    """The portable module must run on any x86-64 CPU: no -march=native, no AVX leaking in."""
    asm = _disassembly("_kern_generic")
    assert "%ymm" not in asm and "%zmm" not in asm and "vfmadd" not in asm


def test_avx2_micro_kernel_is_fma_on_ymm_registers_and_never_touches_zmm():
    asm = _disassembly("_kern_avx2")
    assert "vfmadd231ps %ymm" in asm and "vfmadd231pd %ymm" in asm
    assert "%zmm" not in asm


def test_avx512_micro_kernel_is_fma_on_zmm_registers():
    asm = _disassembly("_kern_avx512")
    assert "vfmadd231ps %zmm" in asm and "vfmadd231pd %zmm" in asm


def test_each_module_reports_the_instruction_set_it_was_compiled_for(build):
    """setup.py compiles each module with its flags (the compiler here accepts all of them).
    The `build` fixture imports a module only on a CPU that runs its instruction set: the
    compiler may use it anywhere in the module, its initialisation included (GCC 12 fills the
    avx512 module's globals with zmm moves, an illegal instruction on an AVX2 CPU)."""
    module = csrc._kernels
    assert build == module.COMPILED_ISA
    blocking = module.BLOCKING
    assert set(blocking) == {"MR_float32", "MR_float64", "NR_float32", "NR_float64", "KC", "MC", "NC"}
    for dt in ("float32", "float64"):
        assert blocking["MC"] % blocking[f"MR_{dt}"] == 0
        assert blocking["NC"] % blocking[f"NR_{dt}"] == 0


def test_cpu_features_name_what_the_builds_need():
    features = _kern_generic.cpu_features()
    assert all(isinstance(v, bool) for v in features.values())
    assert {f for _, needs in csrc._BUILDS.values() for f in needs} <= set(features)


def test_the_active_build_is_the_most_capable_one_the_cpu_runs():
    if os.environ.get(csrc.BUILD_ENV, "auto") not in ("", "auto"):
        pytest.skip(f"{csrc.BUILD_ENV} is set for this test run")
    cpu = csrc._cpu_features
    expected = next(name for name, (_, needs) in csrc._BUILDS.items() if all(cpu[f] for f in needs))
    assert csrc.active_build() == expected
    assert csrc.active_build_reason().startswith("auto")
    assert csrc.builds()[expected][0] is True


NO_AVX512 = dict(avx2=True, fma=True, avx512f=True, avx512dq=True, avx512bw=False, avx512vl=True)
OLD_CPU = dict.fromkeys(NO_AVX512, False)


def test_auto_choice_passes_over_a_build_the_cpu_lacks_and_says_why():
    module, name, reason = csrc._choose_build("auto", NO_AVX512)
    assert (name, module.COMPILED_ISA) == ("avx2", "avx2")
    assert "not avx512: the CPU lacks avx512bw" in reason
    assert csrc._choose_build("auto", OLD_CPU)[1] == "generic"


def test_forcing_a_build_the_cpu_lacks_is_a_clear_error():
    with pytest.raises(csrc.BuildUnavailable) as err:
        csrc._choose_build("avx512", NO_AVX512)
    message = str(err.value)
    assert "NNFUND_KERNELS=avx512" in message and "the CPU lacks avx512bw" in message
    assert "can run: avx2, generic" in message
    assert err.value.missing == ("avx512bw",)
    with pytest.raises(csrc.BuildUnavailable, match="lacks avx2, fma"):
        csrc._choose_build("avx2", OLD_CPU)


def test_forcing_a_name_that_is_no_build_lists_the_valid_ones():
    with pytest.raises(
        csrc.BuildUnavailable,
        match=r"'sse9' names no build.*avx512, avx2, "
        r"generic or auto",
    ):
        csrc._choose_build("sse9", NO_AVX512)


def _python(code_or_module, env_value, *, module=False):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop(csrc.BUILD_ENV, None)
    if env_value is not None:
        env[csrc.BUILD_ENV] = env_value
    args = ["-m", code_or_module] if module else ["-c", code_or_module]
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT)


@pytest.mark.parametrize("name", BUILDS)
def test_each_build_the_cpu_runs_can_be_forced_and_gives_the_product(name):
    missing = [f for f in csrc._BUILDS[name][1] if not csrc._cpu_features[f]]
    if missing:
        pytest.skip(f"hardware: the CPU lacks {', '.join(missing)}")
    code = (
        "import numpy as np, csrc; a = np.arange(12.).reshape(3, 4); "
        "print(csrc.active_build(), csrc.matmul(a, a.T).tolist())"
    )
    proc = _python(code, name.upper())
    assert proc.returncode == 0, proc.stderr
    got_name, product = proc.stdout.split(" ", 1)
    assert got_name == name
    a = np.arange(12.0).reshape(3, 4)
    assert product.strip() == str((a @ a.T).tolist())


def test_python_m_csrc_prints_the_active_build_the_reason_and_every_build():
    proc = _python("csrc", None, module=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"active build: {csrc.active_build()} ({csrc.active_build_reason()})"
    assert lines[1].startswith("CPU: ") and "avx2" in lines[1]
    for name in BUILDS:
        assert any(line.split()[:1] == [name] for line in lines), name
    assert any(line.startswith("OpenMP: ") for line in lines)


def test_python_m_csrc_under_a_forced_build_says_it_was_forced():
    proc = _python("csrc", "generic", module=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "active build: generic (forced by NNFUND_KERNELS=generic)"


def test_an_impossible_forced_build_fails_the_import_with_its_reason_not_a_crash():
    proc = _python("import csrc", "avx1024")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "csrc.BuildUnavailable: NNFUND_KERNELS='avx1024' names no build of the csrc kernels; "
        "use one of avx512, avx2, generic or auto (or unset it)"
    )


def test_openmp_flag_is_a_bool_and_threads_follow_it(threads):
    assert isinstance(csrc.openmp_enabled(), bool)
    threads(2)
    assert csrc.get_num_threads() == (2 if csrc.openmp_enabled() else 1)
    threads(1)
    assert csrc.get_num_threads() == 1


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_set_num_threads_rejects_non_positive_or_non_int(bad, exc, threads):
    with pytest.raises(exc, match="set_num_threads"):
        threads(bad)


def test_public_api_is_documented_in_the_package_docstring():
    for name in csrc.__all__:
        assert name in csrc.__doc__, name
        assert getattr(csrc, name).__doc__
