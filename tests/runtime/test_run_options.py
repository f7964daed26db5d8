"""Reading and scheduling the run options (flow ``options``, dataset ``historyMode``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.flows.options import Periodic, RunOptions, RunOptionsError, read_run_options

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_defaults_reconcile_and_refresh_daily_latest_state() -> None:
    options = read_run_options({}, None)
    assert options == RunOptions()
    assert options.reconcile_deletes == Periodic(True, None, None) and not options.history_mode
    assert options.reconcile_deletes.due(None, 0, NOW)  # never ran
    assert not options.reconcile_deletes.due((NOW - timedelta(hours=23)).isoformat(), 40, NOW)
    assert options.reconcile_deletes.due((NOW - timedelta(hours=24)).isoformat(), 0, NOW)


def test_every_runs_and_interval_either_fires() -> None:
    every_third = Periodic(every_runs=3)
    last = NOW.isoformat()
    assert [every_third.due(last, since, NOW) for since in range(4)] == [False, False, True, True]
    assert not every_third.due((NOW - timedelta(days=30)).isoformat(), 0, NOW)  # runs only, no interval
    both = Periodic(every_runs=10, interval_minutes=60)
    assert both.due((NOW - timedelta(minutes=61)).isoformat(), 0, NOW)
    assert both.due(last, 9, NOW)
    assert not Periodic(enabled=False).due(None, 0, NOW)
    assert Periodic().due("not a time", 0, NOW)


def test_documents_are_read_and_checked() -> None:
    flow = {"options": {"reconcileDeletes": {"everyRuns": 24}, "formulaRefresh": False}}
    options = read_run_options(flow, {"historyMode": "type2"})
    assert options.reconcile_deletes == Periodic(True, 24, None)
    assert options.formula_refresh == Periodic(enabled=False) and options.history_mode
    bad = [
        ({"options": {"reconcileDeletes": {"everyRuns": 0}}}, None, "everyRuns"),
        ({"options": {"reconcileDeletes": {"intervalMinutes": -5}}}, None, "intervalMinutes"),
        ({"options": {"formulaRefresh": {"enabled": "yes"}}}, None, "enabled"),
        ({"options": {"formulaRefresh": {"every": 3}}}, None, "unknown fields: every"),
        ({"options": []}, None, "must be an object"),
        ({}, {"historyMode": "scd2"}, "historyMode must be one of latest, type2"),
    ]
    for flow_doc, dataset, message in bad:
        with pytest.raises(RunOptionsError, match=message):
            read_run_options(flow_doc, dataset)
