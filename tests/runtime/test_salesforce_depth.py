"""Correctness over time, through the emulator over HTTPS, the store, the executor and the lake on disk:
hard deletes reconciled, history mode (type 2) with an as-of query, formula columns kept fresh."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable
from sqlalchemy.orm import Session

from headwater.cli import main
from headwater.core.scope import Scope
from headwater.core.settings import Settings, load_settings
from headwater.flows.runs import create_run_for_flow, get_run, register_flow
from headwater.runtime.executor import RunExecutor
from headwater.runtime.plans import dataflow_plan_builder
from headwater.store import db, tenants
from headwater.store.crypto import SecretBox, load_secret_key
from headwater.store.testing import ONCE, stored_dataflow

pytestmark = pytest.mark.slow


class Harness:
    """One org in a fresh store, one flow of ``table`` into dataset ``ds``, runs executed for real."""

    def __init__(
        self,
        sf: Any,
        tmp_path: Path,
        *,
        table: str,
        columns: list[str],
        options: dict[str, Any] | None = None,
        dataset: dict[str, Any] | None = None,
        include_deleted: bool = True,
    ) -> None:
        self.sf = sf
        self.settings: Settings = load_settings(
            data_dir=tmp_path / "data", ca_bundle=sf.ca_file, outbound_allow=sf.host
        )
        self.engine = db.make_engine(self.settings.resolved_database_url)
        db.upgrade(self.engine)
        box = SecretBox(load_secret_key(self.settings))
        dataset_id = "ds-" + tmp_path.name[-12:]
        with Session(self.engine) as session, session.begin():
            self.org_id = tenants.create_org(session, "Depth Org").id
            scope = Scope(self.org_id, "prod", "client-1")
            params = {"environmentUrl": sf.url, "clientId": sf.client_id, "apiVersion": "60.0"}
            self.flow_id = stored_dataflow(
                session,
                box,
                scope,
                auth_spec="OAuth2 Client Credential",
                auth_params={**params, "includeDeletedObjects": include_deleted},
                secrets={"clientSecret": sf.client_secret},
                table=table,
                columns=columns,
                dataset_id=dataset_id,
                options=options or {},
                dataset_extra=dataset or {},
            )
            register_flow(
                session, flow_id=self.flow_id, org_id=self.org_id, sandbox_name="prod", schedule_params=ONCE
            )
        self.dataset_id = dataset_id
        self.executor = RunExecutor(self.engine, dataflow_plan_builder(self.settings, self.engine), "w1")
        self.lake = Path(self.settings.resolved_lake_root) / self.org_id / "prod" / dataset_id

    def run(self) -> dict[str, Any]:
        with self.engine.begin() as conn:
            run_id = create_run_for_flow(conn, flow_id=self.flow_id, org_id=self.org_id, sandbox_name="prod")[
                "id"
            ]
        assert self.executor.execute(run_id) == "success"
        with self.engine.connect() as conn:
            document: dict[str, Any] = get_run(conn, run_id=run_id, org_id=self.org_id, sandbox_name="prod")
        time.sleep(0.01)  # runs at distinct instants (history versions are stamped by commit time)
        return document

    def rows(self) -> list[dict[str, Any]]:
        return DeltaTable(str(self.lake)).to_pyarrow_table().to_pylist()

    def query(self, sql: str) -> list[dict[str, Any]]:
        """``headwater query`` as a person runs it (the dataset is a view named by its id)."""
        result = CliRunner().invoke(
            main, ["query", sql, "--data-dir", str(self.settings.data_dir), "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        rows: list[dict[str, Any]] = json.loads(result.output)
        return rows


def extensions(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run["metrics"]["recordSummary"].get("extensions", {}))


def live_ids(sf: Any) -> set[str]:
    return {row[0] for row in sf.sql('SELECT "Id" FROM "Account" WHERE NOT "IsDeleted"')}


def test_hard_deleted_record_disappears_after_reconciliation(
    salesforce_emulator: Any, tmp_path: Path
) -> None:
    sf = salesforce_emulator
    flow = Harness(
        sf, tmp_path, table="Account", columns=["Id", "Name", "SystemModstamp"],
        options={"reconcileDeletes": {"enabled": True, "everyRuns": 1}},
    )  # fmt: skip
    first = flow.run()
    assert {r["Id"] for r in flow.rows()} == live_ids(sf)
    assert "reconciledDeleteCount" not in extensions(first)  # a first load is the source's state

    ids = sorted(live_ids(sf))
    sf.delete("Account", ids[0])
    sf.delete("Account", ids[1])
    assert sf.purge("Account") == 2  # hard deleted: queryAll will never show them
    sf.delete("Account", ids[2])  # soft deleted: the incremental read sees IsDeleted
    usage_before = sf.api_usage
    second = flow.run()
    assert {r["Id"] for r in flow.rows()} == live_ids(sf)
    assert not {ids[0], ids[1], ids[2]} & {r["Id"] for r in flow.rows()}
    found = extensions(second)
    assert found["reconciledDeleteCount"] == 2  # the purged two; the soft delete is not counted twice
    assert found["deletedRecordCount"] == 3
    assert 0 < found["reconcileApiCalls"] <= sf.api_usage - usage_before

    third = flow.run()
    assert extensions(third)["reconciledDeleteCount"] == 0


def test_reconciliation_within_the_api_budget_or_not_at_all(salesforce_emulator: Any, tmp_path: Path) -> None:
    sf = salesforce_emulator
    flow = Harness(
        sf, tmp_path, table="Account", columns=["Id", "Name", "SystemModstamp"],
        options={"reconcileDeletes": {"everyRuns": 1}},
    )  # fmt: skip
    flow.run()
    gone = sorted(live_ids(sf))[0]
    sf.delete("Account", gone)
    sf.purge()
    # the incremental read fits in the budget; the key listing that follows goes past 80 % of it
    sf.set_faults(request_limit=sf.api_usage + 12)
    stopped = flow.run()
    assert (
        "Delete reconciliation skipped"
        in stopped["activities"][0]["statusSummary"]["extensions"]["stoppedReason"]
    )
    assert gone in {r["Id"] for r in flow.rows()}  # a partial key list deletes nothing
    sf.reset_faults()
    again = flow.run()
    assert extensions(again)["reconciledDeleteCount"] == 1
    assert gone not in {r["Id"] for r in flow.rows()}


def test_history_mode_keeps_every_version_across_three_runs(salesforce_emulator: Any, tmp_path: Path) -> None:
    sf = salesforce_emulator
    flow = Harness(
        sf, tmp_path, table="Account", columns=["Id", "Name", "AnnualRevenue", "SystemModstamp"],
        options={"reconcileDeletes": {"everyRuns": 1}}, dataset={"historyMode": "type2"},
    )  # fmt: skip
    ids = sorted(live_ids(sf))
    changed, soft, hard = ids[0], ids[1], ids[2]
    original = {row[0]: row[1] for row in sf.sql('SELECT "Id", "Name" FROM "Account" WHERE NOT "IsDeleted"')}

    flow.run()
    after_first = datetime.now(UTC)
    time.sleep(0.01)
    sf.update("Account", changed, Name="Second name")
    sf.delete("Account", soft)
    second = flow.run()
    after_second = datetime.now(UTC)
    time.sleep(0.01)
    sf.update("Account", changed, Name="Third name")
    sf.delete("Account", hard)
    sf.purge()
    added = sf.insert("Account", Name="Born in run three")
    third = flow.run()
    assert extensions(second)["deletedRecordCount"] == 1
    assert extensions(third)["reconciledDeleteCount"] == 1

    rows = flow.rows()
    versions = sorted((r for r in rows if r["Id"] == changed), key=lambda r: r["_valid_from"])
    assert [v["Name"] for v in versions] == [original[changed], "Second name", "Third name"]
    assert [v["_is_current"] for v in versions] == [False, False, True]
    assert versions[0]["_valid_to"] == versions[1]["_valid_from"] and versions[2]["_valid_to"] is None
    for key in (soft, hard):
        (closed,) = [r for r in rows if r["Id"] == key]
        assert closed["_deleted"] and not closed["_is_current"] and closed["_valid_to"] is not None
    current = {r["Id"] for r in rows if r["_is_current"]}
    assert current == live_ids(sf) and added in current
    # unchanged records were read again by the look-back but got no new version
    assert len(rows) == len(original) + 2 + 1

    def as_of(moment: datetime) -> dict[str, str]:
        stamp = moment.isoformat()
        found = flow.query(
            f'SELECT "Id", "Name" FROM "{flow.dataset_id}" '
            f"WHERE _valid_from <= TIMESTAMPTZ '{stamp}' AND (_valid_to IS NULL OR _valid_to > TIMESTAMPTZ '{stamp}')"
        )
        return {r["Id"]: r["Name"] for r in found}

    assert as_of(after_first) == original
    at_second = as_of(after_second)
    assert at_second[changed] == "Second name" and soft not in at_second and hard in at_second
    assert set(at_second) == set(original) - {soft}
    now = as_of(datetime.now(UTC))
    assert now[changed] == "Third name" and hard not in now and now[added] == "Born in run three"


def test_formula_column_follows_its_parent_after_the_refresh(
    salesforce_emulator: Any, tmp_path: Path
) -> None:
    sf = salesforce_emulator
    columns = ["Id", "LastName", "AccountId", "Account_Industry__c", "SystemModstamp"]
    flow = Harness(
        sf, tmp_path, table="Contact", columns=columns, options={"formulaRefresh": {"everyRuns": 1}}
    )
    stale = Harness(
        sf,
        tmp_path / "stale",
        table="Contact",
        columns=columns,
        options={"formulaRefresh": {"enabled": False}},
    )
    flow.run()
    stale.run()
    account, contacts = sf.sql(
        'SELECT "AccountId", list("Id") FROM "Contact" WHERE "AccountId" IS NOT NULL '
        'GROUP BY "AccountId" ORDER BY count(*) DESC LIMIT 1'
    )[0]
    stamps_before = dict(sf.sql('SELECT "Id", "SystemModstamp" FROM "Contact"'))
    industry = sf.sql('SELECT "Industry" FROM "Account" WHERE "Id" = ?', [account])[0][0]
    new_industry = "Banking" if industry != "Banking" else "Energy"
    sf.update("Account", account, Industry=new_industry)
    assert dict(sf.sql('SELECT "Id", "SystemModstamp" FROM "Contact"')) == stamps_before  # no stamp moved

    refreshed = flow.run()
    not_refreshed = stale.run()
    landed = {r["Id"]: r["Account_Industry__c"] for r in flow.rows()}
    assert all(landed[c] == new_industry for c in contacts)
    truth = dict(
        sf.sql(
            'SELECT "Id", (SELECT "Industry" FROM "Account" a WHERE a."Id" = c."AccountId") FROM "Contact" c'
        )
    )
    assert landed == truth
    found = extensions(refreshed)
    assert found["formulaRefreshedCount"] == len(contacts)
    assert found["formulaRefreshReadCount"] == len(truth) and found["formulaRefreshApiCalls"] > 0
    assert refreshed["metrics"]["recordSummary"]["inputRecordCount"] < len(
        truth
    )  # the read stayed incremental
    assert {r["Id"]: r["Account_Industry__c"] for r in stale.rows()}[
        contacts[0]
    ] == industry  # stale without it
    assert "formulaRefreshedCount" not in extensions(not_refreshed)


def test_run_options_are_checked(salesforce_emulator: Any, tmp_path: Path) -> None:
    flow = Harness(
        salesforce_emulator, tmp_path, table="Account", columns=["Id", "Name"],
        options={"reconcileDeletes": {"everyRuns": 0}},
    )  # fmt: skip
    with flow.engine.begin() as conn:
        run_id = create_run_for_flow(conn, flow_id=flow.flow_id, org_id=flow.org_id, sandbox_name="prod")[
            "id"
        ]
    assert flow.executor.execute(run_id) == "failed"
    with flow.engine.connect() as conn:
        run = get_run(conn, run_id=run_id, org_id=flow.org_id, sandbox_name="prod")
    assert "everyRuns must be a whole number" in run["metrics"]["statusSummary"]["errors"][0]["message"]
