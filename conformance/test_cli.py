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
