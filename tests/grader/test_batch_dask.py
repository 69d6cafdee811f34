"""``nngrade batch --dask ADDRESS``: one task per submission on a Dask cluster, same results as locally."""

from __future__ import annotations

import pytest

from grader.batch import engine
from grader.cli import main
from tests.grader.batchkit import NAMES, make_class, read_grades, read_report, strip_timings

CLASS = {"ann": "correct", "ben": "buggy", "cid": "stub", "dee": "slow", "eve": "hostile"}


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_dask_cluster_gives_the_local_pool_results(tmp_path, cluster, capsys):
    cls = make_class(tmp_path / "class", CLASS)
    common = [str(cls), *NAMES, "--seed", "11", "--timeout", "2", "--format", "json,markdown", "--no-progress"]
    assert main(["batch", *common, "--out", str(tmp_path / "local"), "--jobs", "2"]) == 0
    assert main(["batch", *common, "--out", str(tmp_path / "dask"), "--dask", cluster.scheduler_address]) == 0
    assert "5 submissions, 5 graded (0 from the cache)" in capsys.readouterr().out.splitlines()[1]
    assert read_grades(tmp_path / "dask") == read_grades(tmp_path / "local")
    for student in CLASS:
        local, remote = read_report(tmp_path / "local", student), read_report(tmp_path / "dask", student)
        assert strip_timings(remote) == strip_timings(local)
        assert remote["submission"] == local["submission"] == str(cls / student)
    assert read_grades(tmp_path / "dask")["dee"]["timeout"] == "1"


def test_dask_rerun_uses_the_cache_like_the_local_pool(tmp_path, cluster, capsys, monkeypatch):
    monkeypatch.setattr(engine.DaskEngine, "window", lambda self, client: 1)  # one task in flight at a time
    cls = make_class(tmp_path / "class", {"ann": "correct", "ben": "buggy", "cid": "stub"})
    argv = [
        "batch",
        str(cls),
        "relu",
        "--out",
        str(tmp_path / "out"),
        "--dask",
        cluster.scheduler_address,
        "--no-progress",
    ]
    assert main(argv) == 0 and main(argv) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert "3 graded (0 from the cache)" in first and "3 graded (3 from the cache)" in second
    assert read_grades(tmp_path / "out")["cid"]["not_implemented"] == "1"
