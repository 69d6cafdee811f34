"""Where ``nngrade batch`` finds a class: nbgrader, Gradescope exports, git clones, student folders."""

from __future__ import annotations

import zipfile
from pathlib import Path

from grader.cli import main
from tests.grader.batchkit import BUGGY, FULL, NAMES, read_grades, read_report, write_student

METADATA = """\
submission_101:
  :submitters:
  - :name: Ann Lee
    :sid: '100'
    :email: ann@example.edu
  :created_at: 2026-11-30 10:00:00.000000000 -08:00
  :score: 0.0
submission_102:
  :submitters:
  - :name: Ben Ng
    :sid: '200'
  - :email: cid@example.edu
    :sid: '201'
"""


def batch(*argv: str) -> int:
    return int(main(["batch", *argv, "--no-progress"]))


def test_nbgrader_submitted_layout_from_the_course_folder(tmp_path):
    course = tmp_path / "course"
    write_student(course / "submitted" / "ann" / "ps1", "correct")
    write_student(course / "submitted" / "ben" / "ps1", "buggy")
    (course / "submitted" / "ann" / "ps1" / "timestamp.txt").write_text("2026-12-01 10:00:00")
    out = tmp_path / "out"
    assert batch(str(course), *NAMES, "--out", str(out)) == 0
    grades = read_grades(out)
    assert (grades["ann"]["total"], grades["ben"]["total"]) == (str(FULL), str(BUGGY))
    assert "(nbgrader submitted/)" in (out / "summary.md").read_text()
    assert read_report(out, "ann")["submission"] == str(course / "submitted" / "ann" / "ps1")


def test_nbgrader_with_several_assignments_needs_assignment(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    write_student(submitted / "ann" / "ps1", "correct")
    write_student(submitted / "ann" / "ps2", "buggy")
    write_student(submitted / "ben" / "ps2", "stub")
    assert batch(str(submitted), "relu_grad", "--out", str(tmp_path / "out")) == 2
    assert "several assignments (ps1, ps2): choose one with --assignment NAME" in capsys.readouterr().err
    assert batch(str(submitted), "relu_grad", "--out", str(tmp_path / "out"), "--assignment", "ps2") == 0
    grades = read_grades(tmp_path / "out")
    assert (grades["ann"]["relu_grad"], grades["ben"]["not_implemented"]) == ("0", "1")
    assert batch(str(submitted), "relu_grad", "--out", str(tmp_path / "o2"), "--assignment", "ps9") == 2
    assert "no assignment 'ps9'" in capsys.readouterr().err


def _export(root: Path) -> Path:
    export = root / "assignment_7_export"
    write_student(export / "submission_101", "correct")
    write_student(export / "submission_102" / "exercises", "buggy")  # the student kit's layout
    (export / "submission_metadata.yml").write_text(METADATA)
    return export


def test_gradescope_export_folder_gives_one_row_per_submitter(tmp_path):
    _export(tmp_path / "download")
    out = tmp_path / "out"
    assert batch(str(tmp_path / "download"), *NAMES, "--out", str(out)) == 0
    grades = read_grades(out)
    # a group submission is graded once, and each member gets the grade
    assert {s: g["total"] for s, g in grades.items()} == {
        "Ann Lee": str(FULL),
        "Ben Ng": str(BUGGY),
        "cid@example.edu": str(BUGGY),
    }
    assert (out / "reports" / "Ann_Lee.json").is_file() and (out / "reports" / "cid_example.edu.json").is_file()
    assert "(Gradescope export)" in (out / "summary.md").read_text()


def test_gradescope_export_zip_is_read_in_place_like_its_folder(tmp_path):
    export = _export(tmp_path / "download")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(export.rglob("*")):
            if path.is_file():
                z.write(path, str(path.relative_to(export.parent)))
        z.writestr("__MACOSX/assignment_7_export/._submission_metadata.yml", b"\0")
    assert batch(str(archive), *NAMES, "--out", str(tmp_path / "z"), "--seed", "4") == 0
    assert batch(str(export), *NAMES, "--out", str(tmp_path / "f"), "--seed", "4") == 0
    assert read_grades(tmp_path / "z") == read_grades(tmp_path / "f")
    assert not (tmp_path / "z" / "assignment_7_export").exists()  # nothing extracted
    assert read_report(tmp_path / "z", "Ben_Ng")["submission"].startswith(f"{archive}:")


def test_gradescope_export_with_broken_metadata_is_a_usage_error(tmp_path, capsys):
    export = _export(tmp_path)
    (export / "submission_metadata.yml").write_text("submission_101: [unclosed\n")
    assert batch(str(export), "relu", "--out", str(tmp_path / "out")) == 2
    assert "submission_metadata.yml is not valid YAML" in capsys.readouterr().err


def test_list_of_git_clones_names_students_after_their_repository(tmp_path):
    for user, kind in (("ann-lee", "correct"), ("ben", "buggy")):
        write_student(tmp_path / "clones" / f"nnfund-hw1-{user}" / "exercises", kind)
        (tmp_path / "clones" / f"nnfund-hw1-{user}" / "README.md").write_text("# hw1")
    listing = tmp_path / "clones.txt"
    listing.write_text(
        "# GitHub Classroom, cloned on 2026-12-01\nclones/nnfund-hw1-ann-lee\n\n"
        f"{tmp_path}/clones/nnfund-hw1-ben   # absolute paths too\n"
    )
    out = tmp_path / "out"
    assert batch(str(listing), *NAMES, "--out", str(out)) == 0
    grades = read_grades(out)
    assert {s: g["total"] for s, g in grades.items()} == {"ann-lee": str(FULL), "ben": str(BUGGY)}
    assert "(git clones)" in (out / "summary.md").read_text()


def test_list_naming_a_missing_clone_is_a_usage_error_with_its_line(tmp_path, capsys):
    listing = tmp_path / "clones.txt"
    listing.write_text("# header\nnot-cloned-yet\n")
    assert batch(str(listing), "relu", "--out", str(tmp_path / "out")) == 2
    assert f"{listing}:2: no folder 'not-cloned-yet'" in capsys.readouterr().err


def test_two_students_whose_names_clash_as_file_names_keep_both_reports(tmp_path):
    (tmp_path / "cls").mkdir()
    write_student(tmp_path / "cls" / "ann lee", "correct")
    write_student(tmp_path / "cls" / "ann_lee", "buggy")
    out = tmp_path / "out"
    assert batch(str(tmp_path / "cls"), *NAMES, "--out", str(out)) == 0
    grades = read_grades(out)
    assert sorted(grades) == ["ann lee", "ann_lee (2)"]
    assert read_report(out, "ann_lee")["score"] == FULL and read_report(out, "ann_lee_2")["score"] == BUGGY
