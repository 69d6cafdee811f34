"""nngrade-release (grader/release.py, grader/gradescope.py, the kit templates in grader/kit/)
and the student build of setup.py: the kit a student gets holds no answer in readable form,
grades like the instructor's install, and its CI files work when their steps are run.

The slow tests build the student wheel once for the module and install it into fresh virtual
environments (numpy and rich come from pip's cache or PyPI)."""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from grader import __version__
from grader.catalogue import EXERCISES, MODULES, TOTAL_POINTS
from grader.kitinfo import KIT_FILE, version_warning
from grader.release import exercise_table
from grader.release import main as release_main
from tests.grader.conftest import MODEL_DIR, ROOT, copy_model

COMPILED = ("solutions", "solutions/model", "grader/catalogue", "csrc")  # and below them
SOURCE_SUFFIXES = (".py", ".pyx", ".pxi", ".pxd", ".c", ".h")
SEED = "24681357"

#: Classic mistakes written into the model answers: (module, right text, wrong text).
BUGS = (
    (
        "conv",
        "out += k[i, j] * _offset_view(xp, i, j, oh, ow, sh, sw)",
        "out += k[-1 - i, -1 - j] * _offset_view(xp, i, j, oh, ow, sh, sw)",
    ),
    ("losses", "return float(np.mean(diff**2) / 2), diff / diff.size", "return float(np.sum(diff**2) / 2), diff"),
    ("attention", "scale = 1.0 / math.sqrt(Q.shape[-1])", "scale = 1.0"),
    ("activations", "return e / np.sum(e, axis=axis, keepdims=True)", "return e / np.sum(e, axis=0, keepdims=True)"),
    ("perceptron", "def step(z):", "def step(z):\n    raise ValueError('not today')\n\n\ndef _old_step(z):"),
)


def run(cmd, cwd=None, env=None, check=True, timeout=600):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def write_buggy(dest: Path) -> Path:
    """The model answers with the BUGS written in."""
    copy_model(dest)
    for module, right, wrong in BUGS:
        path = dest / f"{module}.py"
        text = path.read_text()
        assert right in text, f"the model answer of {module} changed: update BUGS"
        path.write_text(text.replace(right, wrong, 1))
    return dest


def release(*argv: str) -> int:
    return release_main([str(a) for a in argv])


# -- the kit's files (no wheel) ----------------------------------------------------------


def test_kit_has_the_stubs_of_the_chosen_modules_and_every_file_of_the_contract(tmp_path, capsys):
    out = tmp_path / "kit"
    assert release(out, "--modules", "conv", "activations", "--find-links", "https://example.org/w/") == 0
    assert sorted(p.name for p in (out / "exercises").glob("*.py")) == ["activations.py", "conv.py"]
    assert (out / "exercises" / "conv.py").read_text() == (ROOT / "exercises" / "conv.py").read_text()
    for name in (
        "README.md",
        "requirements.txt",
        ".gitignore",
        ".gitlab-ci.yml",
        ".github/workflows/classroom.yml",
        KIT_FILE,
    ):
        assert (out / name).is_file(), name
    assert not (out / "solutions").exists() and not (out / "grader").exists()
    record = json.loads((out / KIT_FILE).read_text())
    assert record["grader_version"] == __version__
    assert record["modules"] == ["activations", "conv"]  # catalogue order
    assert record["exercises"] == {n: e.points for n, e in EXERCISES.items() if e.module in ("activations", "conv")}
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert f"nnfund=={__version__}" in requirements
    assert "--find-links ./wheelhouse" in requirements and "--find-links https://example.org/w/" in requirements
    readme = (out / "README.md").read_text()
    assert "| `conv` | `corr2d` |" in readme and "`sigmoid`" in readme and "`lstm_forward`" not in readme
    assert "@" + "VERSION@" not in readme and __version__ in readme
    assert "no grader wheel" not in capsys.readouterr().err  # --find-links says where the wheels are


def test_default_kit_has_every_module_of_the_catalogue(tmp_path, capsys):
    assert release(tmp_path / "kit") == 0
    assert "no grader wheel" in capsys.readouterr().err
    assert sorted(p.stem for p in (tmp_path / "kit" / "exercises").glob("*.py")) == sorted(MODULES)
    labs, kit_labs = ROOT / "exercises" / "labs", tmp_path / "kit" / "exercises" / "labs"
    assert labs.is_dir(), "the labs have landed: this test checks how the kit carries them"
    notebooks = sorted(p.name for p in labs.glob("*.ipynb"))
    assert notebooks and sorted(p.name for p in kit_labs.glob("*.ipynb")) == notebooks
    assert (kit_labs / "labkit.py").is_file() and not (kit_labs / "make_figures.py").exists()
    requirements = (tmp_path / "kit" / "requirements-labs.txt").read_text().splitlines()
    assert "-r requirements.txt" in requirements and any(r.startswith("matplotlib") for r in requirements)
    assert "## The labs" in (tmp_path / "kit" / "README.md").read_text()


def test_kit_exercise_table_keeps_every_description_whole_in_its_cell():
    """A description's '|' (stable for |z| up to 1e4) is escaped, not turned into another character."""
    rows = exercise_table(list(MODULES)).splitlines()[2:-1]
    assert len(rows) == len(EXERCISES)
    for row, ex in zip(rows, EXERCISES.values()):
        cells = re.split(r"(?<!\\)\|", row)[1:-1]  # the cells between unescaped pipes
        assert len(cells) == 4, row
        assert cells[3].strip().replace("\\|", "|") == ex.description
    assert any("|" in ex.description for ex in EXERCISES.values()), "no description to test the escape on"


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (["--modules", "convv"], "unknown module(s) convv"),
        (["--source", "/nonexistent"], "no clone of the course repository"),
    ],
)
def test_release_usage_errors_exit_2_with_one_line(tmp_path, argv, phrase, capsys):
    assert release(tmp_path / "kit", *argv) == 2
    err = capsys.readouterr().err
    assert phrase in err and err.count("\n") == 1


def test_release_refuses_a_non_empty_folder_without_force(tmp_path, capsys):
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "notes.txt").write_text("mine")
    assert release(tmp_path / "kit") == 2
    assert "not empty" in capsys.readouterr().err
    assert release(tmp_path / "kit", "--force") == 0
    assert (tmp_path / "kit" / "notes.txt").read_text() == "mine"


def test_ci_files_grade_with_the_sandbox_and_publish_results(tmp_path):
    release(tmp_path / "kit")
    gitlab = yaml.safe_load((tmp_path / "kit" / ".gitlab-ci.yml").read_text())["nngrade"]
    assert gitlab["artifacts"]["when"] == "always"
    assert gitlab["artifacts"]["reports"]["junit"] == "nngrade-junit.xml"
    assert "--format junit --output nngrade-junit.xml" in " ".join(gitlab["script"])
    assert gitlab["variables"]["NNGRADE_SANDBOX"] == "require"
    workflow = yaml.safe_load((tmp_path / "kit" / ".github" / "workflows" / "classroom.yml").read_text())
    steps = workflow["jobs"]["grade"]["steps"]
    grade = next(s for s in steps if s.get("id") == "nngrade")
    assert "--sandbox require" in grade["run"] and "--format classroom" in grade["run"]
    assert grade["env"]["NNGRADE_SEED"] == "${{ secrets.NNGRADE_SEED }}"
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")


def grade_step(kit: Path, ci: str) -> tuple[str, Path]:
    """The grading commands of a kit's CI file, run with this checkout's grader, and the report they write."""
    if ci == "classroom":
        workflow = yaml.safe_load((kit / ".github" / "workflows" / "classroom.yml").read_text())
        script = next(s for s in workflow["jobs"]["grade"]["steps"] if s.get("id") == "nngrade")["run"]
        report = kit / "nngrade-classroom.json"
    else:
        script = yaml.safe_load((kit / ".gitlab-ci.yml").read_text())["nngrade"]["script"][-1]
        report = kit / "nngrade-junit.xml"
    return script.replace(".venv/bin/nngrade", f"{sys.executable} -m grader").replace("--sandbox require", ""), report


@pytest.mark.parametrize("ci", ["classroom", "gitlab"])
def test_a_student_edited_kit_record_cannot_shrink_what_ci_grades(tmp_path, ci):
    """nnfund-kit.json is in the student's repository: edited to list only the module they
    pass, it once made the kit's CI grade that module alone (5/5, status pass) where the
    kit holds 100 points. The CI files name the kit's modules themselves."""
    kit = tmp_path / "kit"
    assert release(kit) == 0
    shutil.copy(MODEL_DIR / "perceptron.py", kit / "exercises" / "perceptron.py")
    record = json.loads((kit / KIT_FILE).read_text())
    (kit / KIT_FILE).write_text(json.dumps({**record, "modules": ["perceptron"]}))
    script, report = grade_step(kit, ci)
    env = {**os.environ, "GITHUB_OUTPUT": str(tmp_path / "out"), "NNGRADE_SANDBOX": "auto", "NNGRADE_SEED": SEED}
    env["PYTHONPATH"] = str(ROOT)
    run(["bash", "-c", script], cwd=kit, env=env, check=False)
    text = report.read_text()
    if ci == "classroom":
        assert json.loads(text)["max_score"] == TOTAL_POINTS
    else:
        assert f'<property name="max_score" value="{TOTAL_POINTS}" />' in text


@pytest.mark.parametrize("ci", ["classroom", "gitlab"])
def test_the_secret_seed_is_in_no_artifact_or_output_of_the_ci_job(tmp_path, ci):
    """A masked GitLab variable is masked in the job log only: the JUnit artifact once carried
    the seed as a property (and Classroom's results the rerun command with it). The CI files
    pass the secret with --seed-env, and the job grades with it without showing it."""
    kit = tmp_path / "kit"
    assert release(kit, "--modules", "activations") == 0
    write_buggy(tmp_path / "buggy")  # softmax sums over the wrong axis: its message shows random values
    shutil.copy(tmp_path / "buggy" / "activations.py", kit / "exercises" / "activations.py")
    script, report = grade_step(kit, ci)
    output = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "NNGRADE_SANDBOX": "auto", "PYTHONPATH": str(ROOT)}
    done = run(["bash", "-c", script], cwd=kit, env={**env, "NNGRADE_SEED": SEED}, check=False)
    assert report.is_file(), done.stderr
    everything = "\n".join(
        [report.read_text(), done.stdout, done.stderr, output.read_text() if output.exists() else ""]
    )
    if ci == "classroom":
        everything += base64.b64decode(output.read_text().split("=", 1)[1]).decode()
    assert SEED not in everything
    # graded with the secret seed all the same: the instructor's own run with that secret, on
    # the same files, gives the same feedback (the cases come from the secret and the files)
    fmt = {"classroom": "classroom", "gitlab": "junit"}[ci]
    argv = [sys.executable, "-m", "grader", "activations", "--seed-env", "NNGRADE_SEED", "--format", fmt]
    direct = run([*argv, "--no-progress"], cwd=kit, env={**env, "NNGRADE_SEED": SEED}, check=False).stdout
    message = "softmax" if ci == "gitlab" else '"name": "softmax"'
    assert message in direct and "Wrong output" in direct
    reported = report.read_text()
    if ci == "classroom":
        tests = lambda text: {x["name"]: x["message"] for x in json.loads(text)["tests"]}  # noqa: E731
        assert tests(reported) == tests(direct)
    else:
        failures = lambda text: [f.text for f in ET.fromstring(text.encode()).iter("failure")]  # noqa: E731
        assert failures(reported) == failures(direct) and failures(reported)
        assert '<property name="seed" value="secret" />' in reported


# -- the kit's CI install step, with small fake wheels --------------------------------------


def fake_wheel(dest: Path, name: str, version: str, requires=(), says: str = "real") -> Path:
    """A pure wheel of ``name`` whose module ``<name>_probe`` says which build it is."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}_probe.py": f"BUILD = {says!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{m},,\n" for m in [*files, f"{info}/RECORD"]))
    return path


def package_index(folder: Path, *wheels: Path) -> Path:
    """A local package index (PEP 503 pages) serving ``wheels``: the CI's PyPI."""
    for wheel in wheels:
        project = folder / wheel.name.split("-")[0].replace("_", "-")
        project.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, project / wheel.name)
        (project / "index.html").write_text(f'<html><body><a href="{wheel.name}">{wheel.name}</a></body></html>\n')
    return folder


DEP = "nnfund-probe-dep"  # the fake grader's one dependency


@pytest.fixture
def fake_kit(tmp_path) -> tuple[Path, dict]:
    """A kit released with a fake grader wheel (needing DEP 1.0, which the index serves), and
    the environment of a CI job on this machine: no pip configuration, that index only."""
    grader = fake_wheel(tmp_path / "built", "nnfund", __version__, requires=[f"{DEP}>=1.0"])
    index = package_index(tmp_path / "index", fake_wheel(tmp_path / "deps", DEP, "1.0"))
    kit = tmp_path / "kit"
    assert release(kit, "--modules", "perceptron", "--wheel-from", grader.parent) == 0
    env = {k: v for k, v in ci_env(tmp_path).items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=index.as_uri(), PIP_NO_CACHE_DIR="1")
    return kit, env


def install_step(kit: Path, ci: str) -> str:
    """The commands of a kit's CI file that install the grader."""
    if ci == "classroom":
        workflow = yaml.safe_load((kit / ".github" / "workflows" / "classroom.yml").read_text())
        return next(s for s in workflow["jobs"]["grade"]["steps"] if s.get("name") == "Install the grader")["run"]
    return "\n".join(yaml.safe_load((kit / ".gitlab-ci.yml").read_text())["nngrade"]["before_script"])


def installed(kit: Path) -> dict[str, str]:
    """name -> version of what the CI's virtual environment holds, and which nnfund build."""
    if not (kit / ".venv" / "bin" / "python").exists():
        return {}
    listed = run([kit / ".venv" / "bin" / "python", "-m", "pip", "list", "--format", "json"], cwd=kit).stdout
    found = {p["name"]: p["version"] for p in json.loads(listed) if p["name"] not in ("pip", "setuptools")}
    if "nnfund" in found:
        probe = [kit / ".venv" / "bin" / "python", "-c", "import nnfund_probe; print(nnfund_probe.BUILD)"]
        found["nnfund build"] = run(probe, cwd=tmp_cwd(kit)).stdout.strip()
    return found


def tmp_cwd(kit: Path) -> Path:
    return kit.parent  # outside the kit: nothing of the student's on sys.path


def ci_install(kit: Path, ci: str, env: dict) -> subprocess.CompletedProcess:
    script = install_step(kit, ci)
    return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=kit, env=env, check=False)


@pytest.mark.slow  # a virtual environment with pip: some 30 s on this loaded machine
def test_ci_installs_the_released_wheel_whatever_the_student_edits(fake_kit):
    """requirements.txt and wheelhouse/ are the student's: an edited requirements.txt asking
    for a forged dependency from wheelhouse/, a forged higher version of that dependency
    there, a committed pip.conf of the virtual environment and a folder `pip/` that a plain
    `python -m pip` run from the repository would import instead of pip change nothing.
    (GitLab's job runs the same commands: one run proves both.)"""
    kit, env = fake_kit
    assert install_step(kit, "gitlab").strip() == install_step(kit, "classroom").strip()
    assert "requirements.txt" not in [
        w for line in install_step(kit, "gitlab").splitlines() if not line.startswith("#") for w in line.split()
    ]
    shutil.copy(fake_wheel(kit.parent / "forged", DEP, "99.0", says="forged"), kit / "wheelhouse")
    (kit / "requirements.txt").write_text(f"--find-links ./wheelhouse\n{DEP}==99.0\nnnfund=={__version__}\n")
    (kit / ".venv").mkdir()
    (kit / ".venv" / "pip.conf").write_text("[global]\nfind-links = ./wheelhouse\n")
    (kit / "pip").mkdir()
    (kit / "pip" / "__main__.py").write_text("open('hijacked', 'w').close()\n")
    done = ci_install(kit, "classroom", env)
    assert done.returncode == 0, done.stderr
    assert installed(kit) == {"nnfund": __version__, "nnfund build": "real", DEP: "1.0"}
    assert not (kit / "hijacked").exists()


@pytest.mark.parametrize("ci", ["classroom", "gitlab"])
def test_ci_refuses_a_forged_grader_wheel_and_installs_nothing(fake_kit, ci):
    """A student's nnfund wheel of the same name and version (one that gives 100) in place of
    the released one: its sha256 is not the one the CI file holds, the step fails."""
    kit, env = fake_kit
    (wheel,) = (kit / "wheelhouse").glob("nnfund-*.whl")
    forged = fake_wheel(kit.parent / "forged", "nnfund", __version__, requires=[f"{DEP}>=1.0"], says="forged")
    shutil.copy(forged, wheel)
    done = ci_install(kit, ci, env)
    assert done.returncode != 0 and f"{wheel.name}: FAILED" in done.stdout + done.stderr
    assert "nnfund" not in installed(kit)


@pytest.mark.slow  # a virtual environment with pip: some 30 s on this loaded machine
def test_ci_of_a_kit_without_wheels_installs_from_the_instructor_locations_only(tmp_path):
    """No wheel in the kit: CI takes nnfund from the --find-links of the release (trusted as
    they are), never from wheelhouse/; with neither, it stops and says why."""
    served = fake_wheel(tmp_path / "instructor", "nnfund", __version__, requires=[f"{DEP}>=1.0"])
    index = package_index(tmp_path / "index", fake_wheel(tmp_path / "deps", DEP, "1.0"))
    kit = tmp_path / "kit"
    assert release(kit, "--modules", "perceptron", "--find-links", served.parent.as_uri()) == 0
    fake_wheel(kit / "wheelhouse", "nnfund", __version__, requires=[f"{DEP}>=1.0"], says="forged")
    env = {k: v for k, v in ci_env(tmp_path).items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=index.as_uri(), PIP_NO_CACHE_DIR="1")
    done = ci_install(kit, "classroom", env)
    assert done.returncode == 0, done.stderr
    assert installed(kit) == {"nnfund": __version__, "nnfund build": "real", DEP: "1.0"}
    bare = tmp_path / "bare"
    assert release(bare, "--modules", "perceptron") == 0
    shutil.copy(served, bare / "wheelhouse")
    done = ci_install(bare, "gitlab", env)
    assert done.returncode == 1 and "no grader wheel" in done.stderr and "nnfund" not in installed(bare)


def test_nngrade_in_a_kit_grades_the_kit_modules_only(tmp_path, monkeypatch):
    assert release(tmp_path / "kit", "--modules", "perceptron") == 0
    done = run([sys.executable, "-m", "grader", "--format", "json", "--no-progress"], cwd=tmp_path / "kit", check=False)
    report = json.loads(done.stdout)
    points = sum(e.points for e in EXERCISES.values() if e.module == "perceptron")
    assert done.returncode == 1 and report["max_score"] == points < TOTAL_POINTS
    assert [e["name"] for e in report["exercises"]] == [n for n, e in EXERCISES.items() if e.module == "perceptron"]
    listed = run([sys.executable, "-m", "grader", "--list"], cwd=tmp_path / "kit").stdout
    assert "perceptron_train" in listed and "sigmoid" not in listed and f"total: {points} points" in listed
    done = run(
        [sys.executable, "-m", "grader", "sigmoid", "--format", "json", "--no-progress"],
        cwd=tmp_path / "kit",
        check=False,
    )
    assert [e["name"] for e in json.loads(done.stdout)["exercises"]] == ["sigmoid"]  # named: as asked


def test_an_explicit_submission_is_graded_whole_whatever_kit_record_lies_beside_it(tmp_path):
    """The instructor's final grading (``nngrade --submission clone/exercises``) must not
    trust the student's nnfund-kit.json: edited to list one module, it once shrank the
    report to that module's points. Only the student's own check (no --submission) is
    narrowed to the kit's modules; the instructor names the modules to narrow it."""
    kit = tmp_path / "kit"
    assert release(kit, "--modules", "perceptron") == 0
    shutil.copy(MODEL_DIR / "perceptron.py", kit / "exercises" / "perceptron.py")
    sub = str(kit / "exercises")
    whole = run([sys.executable, "-m", "grader", "--submission", sub, "--format", "json"], cwd=kit, check=False)
    assert whole.returncode == 1 and json.loads(whole.stdout)["max_score"] == TOTAL_POINTS
    named = [sys.executable, "-m", "grader", "perceptron", "--submission", sub, "--format", "json"]
    done = run(named, cwd=tmp_path, check=False)
    assert done.returncode == 0 and json.loads(done.stdout)["score"] == sum(
        e.points for e in EXERCISES.values() if e.module == "perceptron"
    )


def test_cibuildwheel_workflow_builds_student_wheels_for_every_platform_and_checks_them():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "student-wheels.yml").read_text())
    job = workflow["jobs"]["wheels"]
    systems = " ".join(job["strategy"]["matrix"]["os"])
    assert "ubuntu" in systems and "macos" in systems and "windows" in systems
    build = next(s for s in job["steps"] if "cibuildwheel" in s.get("run", "") and "env" in s)
    assert build["env"]["CIBW_ENVIRONMENT"] == "NNFUND_BUILD=student"
    assert build["env"]["CIBW_BUILD"].split() == ["cp311-*", "cp312-*", "cp313-*"]
    assert "r.check_installed()" in build["env"]["CIBW_TEST_COMMAND"]
    setup = (ROOT / "setup.py").read_text()
    assert 'os.environ.get("NNFUND_BUILD", "")' in setup and '== "student"' in setup


def test_nngrade_says_when_the_kit_was_released_for_another_version(tmp_path, monkeypatch):
    (tmp_path / "exercises").mkdir()
    monkeypatch.chdir(tmp_path)
    assert version_warning(Path("exercises"), __version__) is None  # not a kit
    (tmp_path / KIT_FILE).write_text(json.dumps({"grader_version": __version__}))
    assert version_warning(Path("exercises"), __version__) is None
    (tmp_path / KIT_FILE).write_text(json.dumps({"grader_version": "0.0.1"}))
    warning = version_warning(Path("exercises"), __version__)
    assert "released for grader 0.0.1" in warning and __version__ in warning
    done = run([sys.executable, "-m", "grader", "step", "--no-progress"], cwd=tmp_path, check=False)
    assert done.returncode == 1  # graded (not_implemented), not refused
    assert "nngrade: warning: this kit was released for grader 0.0.1" in done.stderr


# -- the student wheel -------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    from grader.release import build_student_wheel

    dest = tmp_path_factory.mktemp("wheelhouse")
    build_student_wheel(ROOT, dest, log=io.StringIO())
    return dest


@pytest.fixture(scope="module")
def student_env(wheelhouse, tmp_path_factory) -> Path:
    """A fresh virtual environment with only the student wheel (and numpy, rich) installed."""
    venv = tmp_path_factory.mktemp("student-venv") / "venv"
    run([sys.executable, "-m", "venv", venv])
    run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *wheelhouse.glob("*.whl"),
        ]
    )
    return venv


def site_packages(venv: Path) -> Path:
    found = list((venv / "lib").glob("python3.*/site-packages"))
    assert len(found) == 1
    return found[0]


def statements_of(path: Path):
    """(ast.dump, source) of every statement inside the functions of a file, but docstrings,
    imports, pass and nested definitions."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for stmt in ast.walk(node):
            if not isinstance(stmt, ast.stmt) or isinstance(
                stmt, (ast.Import, ast.ImportFrom, ast.Pass, ast.FunctionDef)
            ):
                continue
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # a docstring
            yield ast.dump(stmt), ast.unparse(stmt)


def answer_statements() -> dict[str, str]:
    """ast.dump -> source of every non-trivial statement of the references and the model
    answers that the student sees anyway is left out: those also in the stubs or the
    exercises' descriptions (which state the formulas), or in the grader's readable
    modules (generic code such as making a random generator)."""
    public_text = "\n".join(
        [*(p.read_text() for p in (ROOT / "exercises").glob("*.py")), *(ex.description for ex in EXERCISES.values())]
    )
    public = {dump for p in (ROOT / "grader").glob("*.py") for dump, _ in statements_of(p)}
    statements = {}
    for path in [*(ROOT / "solutions").glob("*.py"), *MODEL_DIR.glob("*.py")]:
        for dump, text in statements_of(path):
            if len(text) >= 24 and dump not in public and text not in public_text:
                statements[dump] = text
    assert len(statements) > 200
    return statements


def installed_files(venv: Path) -> list[Path]:
    """Every file the nnfund wheel installed (its RECORD), the console scripts included."""
    site = site_packages(venv)
    (record,) = site.glob("nnfund-*.dist-info/RECORD")
    return [(site / line.split(",")[0]).resolve() for line in record.read_text().splitlines() if line]


def statements_found(files, answers: dict[str, str]) -> dict[str, str]:
    """Answer statements present in ``files``: as code in a .py file (compared as AST), or as
    their source text in any other file (compiled modules, metadata, scripts)."""
    found = {}
    one_line = {dump: text.encode() for dump, text in answers.items() if "\n" not in text}
    for path in files:
        if not path.is_file():
            continue
        if path.suffix == ".py":
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError):
                continue
            for stmt in ast.walk(tree):
                if isinstance(stmt, ast.stmt) and ast.dump(stmt) in answers:
                    found[answers[ast.dump(stmt)]] = str(path)
        else:
            data = path.read_bytes()
            for dump, text in one_line.items():
                if text in data:
                    found[answers[dump]] = str(path)
    return found


@pytest.mark.slow
def test_student_wheel_ships_no_source_of_the_compiled_packages(wheelhouse, student_env):
    (wheel,) = wheelhouse.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for package in COMPILED:
        compiled = [n for n in names if n.startswith(f"{package}/")]
        assert compiled and all(n.endswith((".so", ".pyd")) for n in compiled), (package, compiled)
    # every module of the instructor's packages is there, compiled
    for package in COMPILED:
        for source in (ROOT / package).rglob("*.py"):
            module = source.relative_to(ROOT).with_suffix("").as_posix()
            assert any(n.startswith(module + ".") and n.endswith(".so") for n in names), module
    installed = site_packages(student_env)
    leaked = [str(p) for package in COMPILED for p in (installed / package).rglob("*") if p.suffix in SOURCE_SUFFIXES]
    assert leaked == []
    assert not (installed / "solutions" / "model" / "conv.py").exists()
    assert (installed / "solutions" / "model").is_dir()  # compiled, for the hints
    check = [student_env / "bin" / "python", "-c", "import sys, grader.release as r; sys.exit(r.check_installed())"]
    assert run(check, cwd=student_env).returncode == 0
    # the same check fails on the instructor's install, which has the sources
    assert run([sys.executable, *check[1:]], cwd=ROOT, check=False).returncode == 1


@pytest.mark.slow
def test_no_installed_file_holds_a_statement_of_the_references_or_model_answers(student_env, tmp_path):
    answers = answer_statements()
    # the detector finds them where they are readable (so it can fail) ...
    assert len(statements_found((ROOT / "solutions").rglob("*.py"), answers)) > 200
    # ... and finds none in what the student wheel installed, compiled modules included
    files = installed_files(student_env)
    assert len([f for f in files if f.suffix == ".so"]) >= 30
    assert statements_found(files, answers) == {}


@pytest.mark.slow
def test_model_answers_get_full_marks_with_the_student_wheel(student_env, tmp_path):
    submission = copy_model(tmp_path / "model")
    done = run(
        [
            student_env / "bin" / "nngrade",
            "--submission",
            submission,
            "--seed",
            SEED,
            "--format",
            "json",
            "--no-progress",
        ],
        cwd=tmp_path,
    )
    report = json.loads(done.stdout)
    assert (report["score"], report["max_score"]) == (TOTAL_POINTS, TOTAL_POINTS)
    assert {e["status"] for e in report["exercises"]} == {"passed"}


@pytest.mark.slow
def test_buggy_submissions_get_the_same_verdicts_and_hints_as_the_instructor_install(student_env, tmp_path):
    submission = write_buggy(tmp_path / "buggy")
    argv = ["--submission", submission, "--seed", SEED, "--format", "json", "--no-progress"]
    student = json.loads(run([student_env / "bin" / "nngrade", *argv], cwd=tmp_path, check=False).stdout)
    instructor = json.loads(run([sys.executable, "-m", "grader", *argv], cwd=tmp_path, check=False).stdout)
    keys = ("name", "status", "score", "hint", "failed_case", "message", "cases_passed")
    assert [{k: e[k] for k in keys} for e in student["exercises"]] == [
        {k: e[k] for k in keys} for e in instructor["exercises"]
    ]
    verdicts = {e["name"]: e for e in student["exercises"]}
    assert verdicts["step"]["status"] == "error" and "not today" in verdicts["step"]["message"]
    for name in ("corr2d", "mse_loss", "scaled_dot_product_attention", "softmax"):
        assert verdicts[name]["status"] == "failed", name
    hinted = [e["name"] for e in student["exercises"] if e["hint"]]
    assert {"corr2d", "scaled_dot_product_attention"} <= set(hinted), hinted
    assert 0 < student["score"] < TOTAL_POINTS


@pytest.mark.slow
def test_importing_the_compiled_references_is_still_forbidden(student_env, tmp_path):
    submission = copy_model(tmp_path / "cheat")
    path = submission / "activations.py"
    path.write_text(
        path.read_text().replace(
            "def relu(z):",
            "def relu(z):\n    import solutions.activations as s\n    return s.relu(z)\n\n\ndef _relu(z):",
        )
    )
    done = run(
        [
            student_env / "bin" / "nngrade",
            "activations",
            "--submission",
            submission,
            "--format",
            "json",
            "--no-progress",
        ],
        cwd=tmp_path,
        check=False,
    )
    verdicts = {e["name"]: e for e in json.loads(done.stdout)["exercises"]}
    assert verdicts["relu"]["status"] == "forbidden" and verdicts["relu"]["score"] == 0
    assert verdicts["sigmoid"]["status"] == "passed"


@pytest.mark.slow
def test_notebook_self_check_works_with_the_student_wheel(student_env, tmp_path):
    script = tmp_path / "cell.py"
    script.write_text(
        "import numpy as np, grader\n"
        "def corr2d(x, k, padding=0, stride=1):\n"
        "    x = np.pad(np.asarray(x, float), padding); k = np.asarray(k, float)[::-1, ::-1]\n"
        "    oh, ow = x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1\n"
        "    out = np.array([[np.sum(x[i:i + k.shape[0], j:j + k.shape[1]] * k) for j in range(ow)]\n"
        "                    for i in range(oh)])\n"
        "    return out[::stride, ::stride]\n"
        "print(grader.check('relu', lambda z: np.maximum(z, 0)).status)\n"
        "try:\n"
        "    grader.check('corr2d', corr2d)\n"
        "except AssertionError as exc:\n"
        "    print(exc)\n"
    )
    done = run([student_env / "bin" / "python", script], cwd=tmp_path)
    assert done.stdout.splitlines()[:2] == [
        "relu: passed, 6/6 cases, 1/1 points (self-check only: your grade is computed when your notebook is graded)",
        "passed",
    ]
    assert "Wrong output in case" in done.stdout and "Hint:" in done.stdout and "flipped" in done.stdout


# -- the kit's CI, run step by step ------------------------------------------------------


@pytest.fixture(scope="module")
def kit_clone(wheelhouse, tmp_path_factory) -> Path:
    """A fresh clone of a generated kit (wheel included) whose student has done
    activations right, conv with a flipped kernel, and nothing else."""
    base = tmp_path_factory.mktemp("kit")
    kit = base / "template"
    assert release(kit, "--wheel-from", wheelhouse) == 0
    shutil.copy(MODEL_DIR / "activations.py", kit / "exercises" / "activations.py")
    write_buggy(base / "buggy")
    shutil.copy(base / "buggy" / "conv.py", kit / "exercises" / "conv.py")
    git = ["git", "-c", "user.name=student", "-c", "user.email=s@example.org"]
    run([*git, "init", "-q", "-b", "main", kit])
    run([*git, "add", "-A"], cwd=kit)
    run([*git, "commit", "-q", "-m", "my work"], cwd=kit)
    clone = base / "clone"
    run(["git", "clone", "-q", kit, clone])
    assert not (clone / "nngrade-classroom.json").exists()
    return clone


def expected_points() -> dict[str, int]:
    """What the kit_clone student earns per exercise."""
    points = {n: 0 for n in EXERCISES}
    points.update({n: e.points for n, e in EXERCISES.items() if e.module == "activations"})
    points.update(
        {
            n: e.points
            for n, e in EXERCISES.items()  # conv: only the flipped corr2d is wrong
            if e.module == "conv" and n != "corr2d"
        }
    )
    return points


def ci_env(tmp: Path) -> dict[str, str]:
    """A job's environment: this Python (3.11+) first on PATH as `python`, nothing of ours."""
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    for name in ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}"):
        if not (bindir / name).exists():
            (bindir / name).symlink_to(sysconfig.get_config_var("BINDIR") + "/python3")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    return env


@pytest.mark.slow
def test_classroom_workflow_steps_grade_and_report_each_exercise_points(kit_clone, tmp_path):
    workflow = yaml.safe_load((kit_clone / ".github" / "workflows" / "classroom.yml").read_text())
    steps = workflow["jobs"]["grade"]["steps"]
    output = tmp_path / "github_output"
    output.touch()
    env = {**ci_env(tmp_path), "GITHUB_OUTPUT": str(output), "GITHUB_ACTIONS": "true", "CI": "true"}
    ran = []
    for step in steps:
        # `uses:` steps are GitHub's (checkout: the clone; setup-python: PATH above; the reporter:
        # decoded below); sandbox-setup is a sysctl of GitHub's Ubuntu runner (sudo).
        if "run" not in step or step.get("id") == "sandbox-setup":
            continue
        step_env = {k: str(v).replace("${{ secrets.NNGRADE_SEED }}", SEED) for k, v in step.get("env", {}).items()}
        run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=kit_clone,
            env={**env, **step_env},
        )
        ran.append(step["name"])
    assert ran == ["Install the grader", "Grade"]
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    reporter = steps[-1]
    runner = reporter["with"]["runners"]
    assert reporter["env"] == {f"{runner.upper()}_RESULTS": "${{ steps.nngrade.outputs.result }}"}
    results = json.loads(base64.b64decode(outputs["result"]))
    assert results["version"] == 1 and results["status"] == "fail"
    assert results["max_score"] == TOTAL_POINTS
    assert {t["name"]: t["score"] for t in results["tests"]} == expected_points()
    assert {t["name"]: t["max_score"] for t in results["tests"]} == {n: e.points for n, e in EXERCISES.items()}
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["sigmoid"]["status"] == "pass" and tests["sigmoid"]["message"] is None
    assert tests["corr2d"]["status"] == "fail" and "Hint:" in tests["corr2d"]["message"]
    assert SEED not in json.dumps(results) and SEED not in output.read_text()  # the secret seed (--seed-env)
    assert sum(t["score"] for t in results["tests"]) == sum(expected_points().values())


@pytest.mark.slow
def test_gitlab_job_steps_write_the_junit_report(kit_clone, tmp_path):
    job = yaml.safe_load((kit_clone / ".gitlab-ci.yml").read_text())["nngrade"]
    env = {**ci_env(tmp_path), **job["variables"], "NNGRADE_SEED": SEED}
    commands = job["before_script"] + job["script"]
    done = run(["bash", "-c", "\n".join(commands)], cwd=kit_clone, env=env, check=False)
    assert done.returncode == 1, done.stderr  # graded, not every exercise passed
    assert SEED not in (kit_clone / job["artifacts"]["reports"]["junit"]).read_text()  # --seed-env
    suite = ET.parse(kit_clone / job["artifacts"]["reports"]["junit"]).getroot()
    cases = suite.iter("testcase")
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {n for n, p in expected_points().items() if p == 0}


def readme_block(readme: str, heading: str) -> list[str]:
    """The commands of the first bash block under a heading of the kit's README."""
    section = readme.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_kit_readme_commands_install_and_grade_in_a_fresh_clone(kit_clone, tmp_path):
    readme = (kit_clone / "README.md").read_text()
    install = readme_block(readme, "Install (once)")
    assert install[0] == f"python{sys.version_info.major}.{sys.version_info.minor} -m venv .venv"
    env = ci_env(tmp_path)
    work = readme_block(readme, "Work and check yourself")
    expected = {
        "nngrade --list": 0,
        "nngrade sigmoid": 0,
        "nngrade activations": 0,
        "nngrade": 1,
        "nngrade --seed 1234": 1,
    }
    assert work == list(expected)
    run(["bash", "-c", "\n".join(install)], cwd=kit_clone, env=env)
    for command, status in expected.items():
        line = command if command == "nngrade --list" else f"{command} --no-progress"
        done = run(["bash", "-c", f"{install[1]} && {line}"], cwd=kit_clone, env=env, check=False)
        assert done.returncode == status, (command, done.stdout[-2000:], done.stderr[-2000:])
        assert "warning" not in done.stderr  # the kit's own grader version grades it
        if command == "nngrade activations":
            points = sum(e.points for e in EXERCISES.values() if e.module == "activations")
            assert f"Total: {points}/{points}" in done.stdout


# -- Gradescope --------------------------------------------------------------------------


@pytest.mark.slow
def test_gradescope_autograder_runs_on_a_simulated_autograder_tree(wheelhouse, tmp_path):
    kit = tmp_path / "kit"
    modules = [m for m in MODULES if m in {b[0] for b in BUGS}]  # a kit of some modules
    assert release(kit, "--wheel-from", wheelhouse, "--gradescope", "--modules", *modules) == 0
    exercises = [n for n, e in EXERCISES.items() if e.module in modules]
    archive = zipfile.ZipFile(kit / "gradescope" / "autograder.zip")
    names = archive.namelist()
    assert {"setup.sh", "run_autograder", "seed"} <= set(names)
    assert [n for n in names if n.startswith("wheelhouse/")] == [
        f"wheelhouse/{w.name}" for w in wheelhouse.glob("*.whl")
    ]
    for script in ("setup.sh", "run_autograder"):
        assert (archive.getinfo(script).external_attr >> 16) & 0o111, script
    root = tmp_path / "autograder"
    archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    env = {
        **ci_env(tmp_path),
        "NNGRADE_AUTOGRADER_ROOT": str(root),
        "NNGRADE_NO_APT": "1",
        "NNGRADE_PYTHON": sysconfig.get_config_var("BINDIR") + "/python3",
    }
    run(["bash", root / "source" / "setup.sh"], cwd=root / "source", env=env)
    # a repository-style submission: the student's files under exercises/
    write_buggy(root / "submission" / "exercises")
    done = run([root / "source" / "run_autograder"], cwd=root, env=env, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    seed = int((root / "source" / "seed").read_text())
    assert results["extra_data"]["seed"] is None  # secret (--seed-env): in the archive only
    assert str(seed) not in (root / "results" / "results.json").read_text()
    assert results["max_score"] == sum(EXERCISES[n].points for n in exercises) < TOTAL_POINTS
    assert [t["name"] for t in results["tests"]] == exercises
    instructor = json.loads(
        run(
            [
                sys.executable,
                "-m",
                "grader",
                *modules,
                "--submission",
                root / "submission" / "exercises",
                "--seed-env",  # the archive's secret, salted by the same files: the same cases
                "NNGRADE_SEED",
                "--format",
                "json",
                "--no-progress",
            ],
            env={**os.environ, "NNGRADE_SEED": str(seed)},
            check=False,
        ).stdout
    )
    truth = {e["name"]: e for e in instructor["exercises"]}
    for test in results["tests"]:
        want = truth[test["name"]]
        assert test["score"] == want["score"] and test["max_score"] == want["max_score"], test["name"]
        assert test["status"] == ("passed" if want["status"] == "passed" else "failed"), test["name"]
        assert test["visibility"] == "visible"
        assert test["output"] == f"[{want['status']}] {want['message']}"
    assert results["score"] == instructor["score"] == sum(t["score"] for t in results["tests"])
    assert 0 < results["score"] < results["max_score"]
