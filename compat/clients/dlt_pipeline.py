"""A dlt pipeline built the way dlt's verified Salesforce source is (``sources/salesforce``): a
simple-salesforce client, every field of the object except compound parents, ``SELECT ... ORDER BY
<incremental key>`` through Bulk API 1.0 ``queryAll`` (``sf.bulk.<Obj>.query_all(..., lazy_operation=True)``),
epoch-ms datetimes converted, merged on Id into DuckDB. (The verified source itself is installed with
``dlt init``, which fetches it from GitHub; this machine has no such access, so its extraction code
path is reproduced here over the unmodified dlt and simple-salesforce packages.)
Prints one JSON line: rows per table in the DuckDB destination."""

import json
import os
import sys
from datetime import UTC, datetime

import dlt
import duckdb
from simple_salesforce import Salesforce

sf = Salesforce(
    username=os.environ["COMPAT_USERNAME"],
    password=os.environ["COMPAT_PASSWORD"],
    security_token=os.environ["COMPAT_SECURITY_TOKEN"],
)


def get_records(sobject: str, replication_key: str):
    desc = getattr(sf, sobject).describe()
    compound = {f["compoundFieldName"] for f in desc["fields"] if f.get("compoundFieldName")} - {"Name"}
    fields = [f["name"] for f in desc["fields"] if f["name"] not in compound]
    date_fields = {f["name"] for f in desc["fields"] if f["type"] in ("datetime",) and f["name"] in fields}
    query = f"SELECT {', '.join(fields)} FROM {sobject} ORDER BY {replication_key} ASC"
    for page in getattr(sf.bulk, sobject).query_all(query, lazy_operation=True):
        for record in page:
            record.pop("attributes", None)
            for field in date_fields:
                if record.get(field):
                    moment = datetime.fromtimestamp(record[field] / 1000, tz=UTC)
                    record[field] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            yield record


@dlt.source(name="salesforce")
def salesforce_source():
    yield dlt.resource(
        get_records("Account", "LastModifiedDate"),
        name="account",
        write_disposition="merge",
        primary_key="id",
    )
    yield dlt.resource(
        get_records("Contact", "SystemModstamp"), name="contact", write_disposition="merge", primary_key="id"
    )


target = os.path.join(sys.argv[1], "salesforce.duckdb")
pipeline = dlt.pipeline(
    pipeline_name="salesforce_compat",
    destination=dlt.destinations.duckdb(target),
    dataset_name="salesforce_data",
    pipelines_dir=os.path.join(sys.argv[1], "pipelines"),
)
pipeline.run(salesforce_source())
with duckdb.connect(target, read_only=True) as con:
    counts = {
        table: con.execute(f"SELECT count(DISTINCT id) FROM salesforce_data.{table}").fetchone()[0]
        for table in ("account", "contact")
    }
print(json.dumps({"Account": counts["account"], "Contact": counts["contact"]}))
