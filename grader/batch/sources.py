"""Where a class's submissions come from: one :class:`Submission` per student.

``nngrade batch SUBMISSIONS`` accepts, recognised in this order (:data:`LAYOUTS`):

- a text file listing local git clones (GitHub Classroom's student
  repositories), one path per line, relative to the file; ``#`` starts a
  comment. The student is the clone's folder name without the prefix every
  clone shares (Classroom names them ``<assignment>-<username>``);
- a Gradescope submissions export: its ``.zip``, or the unpacked folder holding
  ``submission_metadata.yml`` (or the one folder that holds it);
- nbgrader's layout: a course folder holding ``submitted/``, or ``submitted/``
  itself, with ``submitted/<student>/<assignment>/``;
- a folder of student folders.

Inside a student's folder the files graded are the catalogue's modules
(``conv.py``, ...) at its top, else in its ``exercises/`` subfolder, else its
notebooks (``*.ipynb``). Files are read here, once, without following links;
the bytes read are what is hashed for the cache and what the worker grades.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: A file larger than this is not graded (the submission fails to grade, with the reason).
MAX_FILE_BYTES = 16 * 2**20
#: Nor is a submission whose graded files add up to more than this.
MAX_SUBMISSION_BYTES = 64 * 2**20
#: The content of a module that is a symbolic link (nngrade grades it ``forbidden``).
LINK = None


class SourceError(Exception):
    """SUBMISSIONS cannot be read as a class: a one-line message (usage error)."""


@dataclass
class Submission:
    """One student's files, as read from the class's SUBMISSIONS.

    files: file name -> bytes, or :data:`LINK` for a module that is a link;
    kind: ``"modules"`` (``*.py``) or ``"notebooks"`` (``*.ipynb``);
    problem: why it cannot be graded (too large, unreadable), else None.
    """

    student: str
    origin: str
    files: dict[str, bytes | None] = field(default_factory=dict)
    kind: str = "modules"
    problem: str | None = None

    def digest(self) -> str:
        """sha256 of what is graded: the kind, each file's name and content."""
        h = hashlib.sha256(self.kind.encode())
        for name in sorted(self.files):
            content = self.files[name]
            h.update(b"\0" + name.encode() + (b"\0L" if content is LINK else b"\0F" + content))
        return h.hexdigest()


def _read_regular(path: Path) -> bytes | None:
    """A regular file's bytes, or :data:`LINK`; never follows a link."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return LINK
    if st.st_size > MAX_FILE_BYTES:
        raise OSError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    return data


def _pick(names: list[str], modules: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """(kind, graded names) among a folder's file names, or None when nothing is gradable."""
    wanted = {f"{m}.py" for m in modules}
    py = sorted(n for n in names if n in wanted)
    if py:
        return "modules", py
    nb = sorted(n for n in names if n.endswith(".ipynb") and not n.startswith("."))
    return ("notebooks", nb) if nb else None


def read_folder(student: str, folder: Path, modules: tuple[str, ...]) -> Submission:
    """The submission in ``folder`` (modules at the top, else ``exercises/``, else notebooks)."""
    sub = Submission(student, str(folder))
    try:
        for where in (folder, folder / "exercises"):
            if where.is_symlink() or not where.is_dir():
                continue
            picked = _pick([e.name for e in os.scandir(where)], modules)
            if picked is not None:
                sub.kind, names = picked
                _check_total(sub, [os.lstat(where / n).st_size for n in names])
                if sub.problem is None:
                    sub.files = {n: _read_regular(where / n) for n in names}
                break
    except OSError as exc:
        sub.problem = f"cannot read the submission: {exc.strerror or exc}"
        sub.files = {}
    return sub


def _check_total(sub: Submission, sizes: list[int]) -> None:
    """Refuse, before reading anything, files that add up to more than the limit."""
    if sum(sizes) > MAX_SUBMISSION_BYTES:
        sub.problem = f"the graded files exceed {MAX_SUBMISSION_BYTES // 2**20} MiB"


def _subfolders(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


# ----------------------------------------------------------------------- layouts


def from_student_folders(root: Path, modules, assignment: str | None) -> list[Submission]:
    """``root/<student>/``: one folder per student."""
    return [read_folder(p.name, p, modules) for p in _subfolders(root)]


def _nbgrader_root(path: Path) -> Path | None:
    if path.name == "submitted" and path.is_dir():
        return path
    if (path / "submitted").is_dir():
        return path / "submitted"
    return None


def from_nbgrader(root: Path, modules, assignment: str | None) -> list[Submission]:
    """``submitted/<student>/<assignment>/`` (nbgrader's collected submissions)."""
    submitted = _nbgrader_root(root)
    students = _subfolders(submitted)
    names = sorted({a.name for s in students for a in _subfolders(s)})
    if assignment is None:
        if len(names) > 1:
            raise SourceError(
                f"{submitted} holds several assignments ({', '.join(names)}): choose one with --assignment NAME"
            )
        assignment = names[0] if names else ""
    elif assignment not in names:
        raise SourceError(
            f"no assignment {assignment!r} in {submitted}" + (f" (found: {', '.join(names)})" if names else "")
        )
    return [read_folder(s.name, s / assignment, modules) for s in students if (s / assignment).is_dir()]


def _gradescope_people(metadata: object, folder: str) -> list[str]:
    """The submitters' names (else e-mails, else student ids) of one export folder."""
    entry = metadata.get(folder) if isinstance(metadata, dict) else None
    people = entry.get(":submitters") if isinstance(entry, dict) else None
    out = []
    for person in people if isinstance(people, list) else []:
        if isinstance(person, dict):
            for key in (":name", ":email", ":sid"):
                if person.get(key) not in (None, ""):
                    out.append(str(person[key]))
                    break
    return out or [folder]


def _load_metadata(text: bytes) -> dict:
    import yaml  # the batch extra; Gradescope writes its metadata in YAML

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"submission_metadata.yml is not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise SourceError("submission_metadata.yml does not map submission folders to submitters")
    return data


def _gradescope_root(path: Path) -> Path | None:
    if not path.is_dir():
        return None
    if (path / "submission_metadata.yml").is_file():
        return path
    inner = [p for p in _subfolders(path) if (p / "submission_metadata.yml").is_file()]
    return inner[0] if len(inner) == 1 else None


def _one_per_submitter(metadata: dict, folders: dict[str, Submission]) -> list[Submission]:
    out = []
    for folder, sub in sorted(folders.items()):
        for person in _gradescope_people(metadata, folder):
            out.append(Submission(person, sub.origin, sub.files, sub.kind, sub.problem))
    return out


def from_gradescope_folder(root: Path, modules, assignment: str | None) -> list[Submission]:
    """An unpacked Gradescope export: ``submission_<id>/`` folders and ``submission_metadata.yml``."""
    root = _gradescope_root(root)
    metadata = _load_metadata((root / "submission_metadata.yml").read_bytes())
    folders = {p.name: read_folder(p.name, p, modules) for p in _subfolders(root)}
    return _one_per_submitter(metadata, folders)


def from_gradescope_zip(path: Path, modules, assignment: str | None) -> list[Submission]:
    """A Gradescope export as downloaded (``.zip``), read in place: nothing is extracted."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{path} is not a readable zip file ({exc})") from None
    with archive:
        members = {
            PurePosixPath(i.filename): i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename
        }
        meta = [p for p in members if p.name == "submission_metadata.yml"]
        if len(meta) != 1:
            raise SourceError(f"{path} is not a Gradescope export (no submission_metadata.yml)")
        base = meta[0].parent
        metadata = _load_metadata(archive.read(members[meta[0]]))
        by_folder: dict[str, dict[str, zipfile.ZipInfo]] = {}
        for p, info in members.items():
            rel = p.relative_to(base) if p.is_relative_to(base) else None
            if rel is not None and len(rel.parts) >= 2:
                by_folder.setdefault(rel.parts[0], {})["/".join(rel.parts[1:])] = info
        folders = {}
        for folder, files in by_folder.items():
            sub = Submission(folder, f"{path}:{base / folder}")
            top = [n for n in files if "/" not in n]
            inner = [n[len("exercises/") :] for n in files if n.startswith("exercises/") and n.count("/") == 1]
            picked = _pick(top, modules) or _pick(inner, modules)
            if picked is not None:
                sub.kind, names = picked
                prefix = "" if names[0] in top else "exercises/"
                _check_total(sub, [files[prefix + n].file_size for n in names])
                for n in names if sub.problem is None else ():
                    info = files[prefix + n]
                    if info.file_size > MAX_FILE_BYTES:
                        sub.problem, sub.files = f"{n} is larger than {MAX_FILE_BYTES // 2**20} MiB", {}
                        break
                    sub.files[n] = LINK if stat.S_ISLNK(info.external_attr >> 16) else archive.read(info)
            folders[folder] = sub
    return _one_per_submitter(metadata, folders)


def from_clone_list(path: Path, modules, assignment: str | None) -> list[Submission]:
    """A text file of local git clones, one per line (``#`` comments)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read the list of clones {str(path)!r} ({exc})") from None
    clones = []
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if line:
            clone = path.parent / os.path.expanduser(line)
            if not clone.is_dir():
                raise SourceError(f"{path}:{number}: no folder {line!r}")
            clones.append(clone)
    names = [c.resolve().name for c in clones]
    prefix = os.path.commonprefix(names) if len(names) > 1 else ""
    prefix = prefix[: prefix.rfind("-") + 1]  # Classroom's "<assignment>-" and nothing more
    return [read_folder(n[len(prefix) :] or n, c, modules) for n, c in zip(names, clones)]


def _is_clone_list(path: Path) -> bool:
    return path.is_file() and not zipfile.is_zipfile(path)


#: (layout name, recogniser, reader), tried in order; the last one takes any folder.
LAYOUTS: list[tuple[str, Callable[[Path], bool], Callable]] = [
    ("git clones", _is_clone_list, from_clone_list),
    ("Gradescope export", lambda p: p.is_file(), from_gradescope_zip),
    ("Gradescope export", lambda p: _gradescope_root(p) is not None, from_gradescope_folder),
    ("nbgrader submitted/", lambda p: _nbgrader_root(p) is not None, from_nbgrader),
    ("student folders", Path.is_dir, from_student_folders),
]


def discover(path: Path, modules: tuple[str, ...], assignment: str | None = None) -> tuple[str, list[Submission]]:
    """(layout name, submissions with unique student names) found at ``path``."""
    if not path.exists():
        raise SourceError(f"no submissions at {str(path)!r}")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{str(path)!r} is not readable")
    if path.is_dir() and _pick([p.name for p in path.iterdir()], modules):
        raise SourceError(f"{str(path)!r} holds one submission, not a class (grade it with nngrade --submission)")
    for name, recognises, read in LAYOUTS:
        if recognises(path):
            try:
                subs = read(path, modules, assignment)
            except OSError as exc:
                raise SourceError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
            if not subs:
                raise SourceError(f"no submissions found in {str(path)!r} (read as {name})")
            return name, unique_names(subs)
    raise SourceError(f"{str(path)!r} is neither a folder nor a file")


def safe_name(student: str) -> str:
    """A file-name-safe form of a student's name (reports are named after it)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"


def unique_names(subs: list[Submission]) -> list[Submission]:
    """Submissions sorted by student; a repeated name (or file name) gets " (2)", " (3)", ..."""
    files: set[str] = set()
    for sub in sorted(subs, key=lambda s: (s.student, s.origin)):
        base, n = sub.student, 1
        while safe_name(sub.student).lower() in files:
            n += 1
            sub.student = f"{base} ({n})"
        files.add(safe_name(sub.student).lower())
    return sorted(subs, key=lambda s: s.student)
