"""Per-server cgroups: made where the grader may, limiting tasks and memory, removed afterwards."""

from __future__ import annotations

import os

from grader import cgroup


def test_a_cgroup_is_made_and_removed_or_none_is_claimed(monkeypatch):
    group = cgroup.Cgroup.create(512)
    if os.geteuid() != 0 and group is None:
        return  # an ordinary user without a delegated cgroup: RLIMIT_NPROC bounds the processes
    assert group is not None, "as root, the grader can make a cgroup"
    try:
        assert group.describe() == {
            "version": group.version,
            "pids_max": cgroup.PIDS_MAX,
            "memory_max_mb": 512 + cgroup.SERVER_MARGIN_MB,
        }
        assert all(folder.is_dir() for folder in group.folders)
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders)


def test_no_cgroup_filesystem_means_no_cgroup(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroup, "ROOT", tmp_path / "missing")
    assert cgroup.Cgroup.create(512) is None


def test_folders_of_dead_graders_are_reaped(tmp_path):
    dead = tmp_path / f"{cgroup.PREFIX}999999999-abcd"
    alive = tmp_path / f"{cgroup.PREFIX}{os.getpid()}-abcd"
    dead.mkdir()
    alive.mkdir()
    cgroup._reap(tmp_path)
    assert not dead.exists() and alive.exists()
