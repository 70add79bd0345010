"""``python -m conformance``: the report it writes, and its watchdog (a posterior check that
passes the memory or time limit is stopped, reported as that check's failure, and the rest of the
suite still runs and is reported)."""

from __future__ import annotations

import json

import pytest

from . import report
from .__main__ import main


@pytest.mark.parametrize("limit, why", [(["--max-rss-gb", "0.03"], "resident memory"),
                                        (["--check-timeout", "0.5"], "still running after")])
def test_watchdog_stops_one_check_and_the_report_goes_on(tmp_path, monkeypatch, capsys,
                                                         limit, why):
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path)
    rc = main(["--models", "normal_normal", "--backends", "numpy,jax",
               "--checks", "log_density,posterior", *limit])
    assert rc == 1  # a failed check fails the run
    rows = json.loads((tmp_path / "report.json").read_text())["results"]
    post = {r["backend"]: r for r in rows if r["check"] == "posterior"}
    assert post["jax"]["passed"] is False and why in post["jax"]["note"]
    assert post["numpy"]["passed"] is None and "known gap" in post["numpy"]["note"]
    dens = [r for r in rows if r["check"].startswith("log_density")]
    assert dens and all(r["passed"] is True for r in dens)
    md = (tmp_path / "report.md").read_text()
    assert "| model | check | numpy | jax |" in md and "**FAIL**" in md
    assert "rel_err_vs_numpy=" in md  # the measured numbers are in the report
    capsys.readouterr()


def test_merge_keeps_the_earlier_results_and_replaces_what_is_measured_again(
        tmp_path, monkeypatch, capsys):
    """An earlier report (written by hand: a torch posterior with its stats, a numpy log
    density, an old comparison) merged with a run of normal_normal's log density on numpy and
    its posterior on JAX: the torch row stays, the numpy row is replaced, and the torch-vs-jax
    comparison is computed from the merged posterior runs."""
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path)
    stale = report.Result("normal_normal", "numpy", "log_density[0]", False, note="stale")
    torch_run = report.Result("normal_normal", "torch", "posterior", True,
                              {"max_z": 0.5}, stats={"mu": [0.0, 1.0, 1e-9]})
    old_across = report.Result("normal_normal", "torch vs numpy", "posterior_across", True)
    report.write_report([stale, torch_run, old_across], {"mode": "full", "backends": "torch"})
    rc = main(["--merge", "--models", "normal_normal", "--backends", "numpy,jax",
               "--checks", "log_density,posterior"])
    data = json.loads((tmp_path / "report.json").read_text())
    rows = {(r["backend"], r["check"]): r for r in data["results"]}
    assert rows["torch", "posterior"]["stats"] == {"mu": [0.0, 1.0, 1e-9]}  # kept
    assert rows["numpy", "log_density[0]"]["passed"] is True  # replaced by the new run
    assert rows["jax", "posterior"]["passed"] is True
    assert ("torch vs numpy", "posterior_across") not in rows  # the old comparison is gone
    across = rows["torch vs jax", "posterior_across"]  # the new one, from the merged runs
    assert across["numbers"]["parameters"] == 1
    assert [m["backends"] for m in data["meta"]["merged_with"]] == ["torch"]
    assert "partial" not in data["meta"]  # the run finished: its own meta, not a snapshot
    assert rc == (0 if across["passed"] else 1)
    capsys.readouterr()


def test_merge_saves_each_finished_posterior_check(tmp_path, monkeypatch, capsys):
    """With --merge the report is written as each posterior check finishes: a run stopped
    before its end (here: interrupted inside the in-process checks, after the posterior check
    finished) still leaves that check merged into the earlier report."""
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path)
    kept = report.Result("normal_normal", "torch", "log_density[0]", True)
    report.write_report([kept], {"mode": "full", "backends": "torch"})
    from . import __main__ as cli

    def interrupted(*a, **k):
        for fut in list(posterior_futures):
            fut.result()  # the posterior check finishes (and is saved) first
        raise KeyboardInterrupt

    posterior_futures = []
    real_submit = cli.ThreadPoolExecutor.submit

    def submit(self, *a, **k):
        fut = real_submit(self, *a, **k)
        posterior_futures.append(fut)
        return fut

    monkeypatch.setattr(cli.ThreadPoolExecutor, "submit", submit)
    monkeypatch.setattr(cli, "_run_in_process", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["--merge", "--models", "normal_normal", "--backends", "jax",
              "--checks", "posterior"])
    data = json.loads((tmp_path / "report.json").read_text())
    rows = {(r["backend"], r["check"]) for r in data["results"]}
    assert ("torch", "log_density[0]") in rows and ("jax", "posterior") in rows
    assert "saved so far" in data["meta"]["partial"]
    capsys.readouterr()


def test_checks_stopped_by_the_run_itself_are_not_saved(tmp_path, monkeypatch):
    """A posterior check cut short because the whole run was stopped is no measurement: the
    saver of a --merge run leaves the report as it was."""
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path)
    from . import __main__ as cli

    report.write_report([report.Result("m", "jax", "posterior", True)], {"mode": "full"})
    before = (tmp_path / "report.json").read_text()
    saver = cli._MergeSaver(report.load_report())
    monkeypatch.setattr(cli, "_STOP", type("S", (), {"is_set": staticmethod(lambda: True)})())
    saver.add([report.Result("m", "torch", "posterior", False,
                             note="stopped: the suite was interrupted")])
    assert (tmp_path / "report.json").read_text() == before
