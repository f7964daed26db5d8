"""Each fault knob of the emulator, and what the connector does about it."""

from __future__ import annotations

from typing import Any

from connector_helpers import drain, ids


def _truth(sf: Any, sobject: str) -> set[str]:
    return {row[0] for row in sf.sql(f'SELECT "Id" FROM "{sobject}" WHERE NOT "IsDeleted"')}


def _read_all(connector: Any, sobject: str = "Account", cursor: Any = None) -> tuple[Any, list[str]]:
    stream = connector.read(sobject, None, cursor)
    table, _ = drain(stream)
    return stream, ids(table)


def test_session_expiry_relogs_in(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector(tuning={"bulk_page_records": 100})
    assert connector.check().ok
    salesforce_emulator.set_faults(session_expiry_calls=3)
    stream, got = _read_all(connector)
    assert stream.stopped is None and sorted(got) == sorted(_truth(salesforce_emulator, "Account"))


def test_expired_sessions_relog_in_once(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector()
    assert connector.check().ok
    salesforce_emulator.expire_sessions()
    assert connector.explore("table", "Contact", preview=True).data  # describe + query after expiry
    _stream, got = _read_all(connector, "Contact")
    assert set(got) == _truth(salesforce_emulator, "Contact")


def test_unavailable_answers_are_retried(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector()
    assert connector.check().ok
    salesforce_emulator.set_faults(unavailable_calls=3)
    stream, got = _read_all(connector)
    assert stream.stopped is None and set(got) == _truth(salesforce_emulator, "Account")


def test_unavailable_beyond_retries_is_transient(make_connector: Any, salesforce_emulator: Any) -> None:
    from headwater.core.errors import SourceUnavailable, TransientError

    connector = make_connector(tuning={"max_retries": 1})
    assert connector.check().ok
    salesforce_emulator.set_faults(unavailable_calls=50)
    try:
        _read_all(connector)
    except SourceUnavailable as exc:
        assert isinstance(exc, TransientError) and "503" in exc.message
    else:
        raise AssertionError("expected SourceUnavailable")


def test_bulk_query_timeout_splits_the_window(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector()
    salesforce_emulator.set_faults(query_timeouts=2)
    stream, got = _read_all(connector)
    assert sorted(got) == sorted(_truth(salesforce_emulator, "Account"))
    assert len(got) == len(set(got)) and stream.cursor is not None


def test_rest_query_timeout_splits_the_window(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector()
    salesforce_emulator.set_faults(query_timeouts=1)
    _stream, got = _read_all(connector, "Invoice__c")  # base64 field: REST path
    assert sorted(got) == sorted(_truth(salesforce_emulator, "Invoice__c"))


def test_dropped_pages_resume_inside_the_page(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector(tuning={"bulk_page_records": 120})
    salesforce_emulator.set_faults(dropped_pages=2)
    _stream, got = _read_all(connector)
    assert sorted(got) == sorted(_truth(salesforce_emulator, "Account"))
    assert len(got) == len(set(got))  # rows delivered before the cut are not delivered again


def test_slow_api_and_slow_bulk_jobs(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector()
    salesforce_emulator.set_faults(delay_seconds=0.02, bulk_job_seconds=0.5)
    _stream, got = _read_all(connector, "Opportunity")
    assert set(got) == _truth(salesforce_emulator, "Opportunity")


def test_request_limit_stops_cleanly_and_keeps_the_cursor(
    make_connector: Any, salesforce_emulator: Any
) -> None:
    sf = salesforce_emulator
    connector = make_connector(
        tuning={"bulk_page_records": 50, "budget_share": 2.0}
    )  # guard off: hit the 403
    first, _ = _read_all(connector)
    cursor = first.cursor
    sf.set_faults(request_limit=sf.api_usage + 4)
    stopped, _ = _read_all(connector, cursor=cursor)
    assert stopped.stopped is not None and "request limit is exceeded" in stopped.stopped
    assert stopped.cursor == cursor  # unchanged: the next run resumes from here
    sf.reset_faults()
    new_id = sf.insert("Account", Name="After the limit")
    resumed, got = _read_all(connector, cursor=stopped.cursor)
    assert resumed.stopped is None and new_id in got


def test_daily_usage_share_stops_before_the_limit(make_connector: Any, salesforce_emulator: Any) -> None:
    sf = salesforce_emulator
    connector = make_connector(tuning={"bulk_page_records": 50, "budget_share": 0.8})
    assert connector.check().ok
    sf.set_faults(request_limit=sf.api_usage + 10)
    stream, _ = _read_all(connector)
    assert stream.stopped is not None and "80%" in stream.stopped
    assert stream.cursor is None
    assert sf.api_usage < sf.server.emulator.state.faults.request_limit  # never hit the hard limit
