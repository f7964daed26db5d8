"""simple-salesforce, unmodified: SOAP login at login.salesforce.com (reached through the proxy),
every Account over REST (query_all_iter, all fields), every Contact over Bulk 2.0, and COUNT().
Prints one JSON line: distinct Ids per object and the COUNT() answers."""

import csv
import io
import json
import os
import sys

from simple_salesforce import Salesforce

csv.field_size_limit(sys.maxsize)
sf = Salesforce(
    username=os.environ["COMPAT_USERNAME"],
    password=os.environ["COMPAT_PASSWORD"],
    security_token=os.environ["COMPAT_SECURITY_TOKEN"],
)
fields = [f["name"] for f in sf.Account.describe()["fields"]]
accounts = {record["Id"] for record in sf.query_all_iter(f"SELECT {', '.join(fields)} FROM Account")}
contact_fields = [
    f["name"] for f in sf.Contact.describe()["fields"] if f["type"] not in ("address", "location")
]
contacts: set[str] = set()
for page in sf.bulk2.Contact.query(f"SELECT {', '.join(contact_fields)} FROM Contact", max_records=50_000):
    contacts.update(row["Id"] for row in csv.DictReader(io.StringIO(page)))
counts = {name: sf.query(f"SELECT COUNT() FROM {name}")["totalSize"] for name in ("Account", "Contact")}
print(json.dumps({"Account": len(accounts), "Contact": len(contacts), "count()": counts}))
