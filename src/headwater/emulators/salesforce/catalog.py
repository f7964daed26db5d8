"""The objects of the synthetic org. Together they cover every describe field type plus formula fields."""

from __future__ import annotations

from .schema import (
    COMPANY,
    FIRST,
    INDUSTRY,
    LAST,
    LEAD_SOURCE,
    OWNERSHIP,
    RATING,
    SUFFIX,
    TZ,
    Field,
    SObject,
    _long_text,
    address,
    audit_fields,
    date,
    h,
    hostile,
    id_field,
    id_sql,
    number,
    pick,
    ref,
    timestamp,
    words,
)

ACCOUNT_TYPE = ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
TIERS = ("Gold", "Silver", "Bronze", "Platinum")
STAGES = (
    "Prospecting",
    "Qualification",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
CASE_STATUS = ("New", "Working", "Escalated", "Closed")
PRIORITY = ("High", "Medium", "Low")
ORIGIN = ("Phone", "Email", "Web")
LEAD_STATUS = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
CAMPAIGN_TYPE = ("Conference", "Webinar", "Email", "Advertisement", "Direct Mail")
CAMPAIGN_STATUS = ("Planned", "In Progress", "Completed", "Aborted")
TASK_STATUS = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
INVOICE_STATUS = ("Draft", "Sent", "Paid", "Overdue", "Void")
SALUTATION = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")


def _first(salt: str) -> str:
    return pick(salt + "first", FIRST)


def _last(salt: str) -> str:
    return hostile(salt + "last", pick(salt + "last", LAST), 23)


def _email(salt: str) -> str:
    return f"lower({pick(salt + 'first', FIRST)}) || '.' || CAST(i AS VARCHAR) || '@example.com'"


def _phone(salt: str) -> str:
    return f"'(' || lpad(CAST({h(salt)} % 1000 AS VARCHAR), 3, '0') || ') 555-' || lpad(CAST({h(salt + 'x')} % 10000 AS VARCHAR), 4, '0')"


def _money(salt: str, modulo: int) -> str:
    return f"CAST({number(salt, modulo * 100, 0.01)} AS DECIMAL(18,2))"


def _company() -> str:
    return hostile(
        "name",
        words("name", COMPANY, 1) + " || ' ' || " + pick("sfx", SUFFIX) + " || ' ' || CAST(i AS VARCHAR)",
    )


def _picklist(name: str, values: tuple[str, ...], label: str = "") -> Field:
    return Field(name, "picklist", pick(name, values), label or name, 255, picklist=values)


ACCOUNT = SObject(
    "Account",
    "Account",
    "001",
    (
        id_field("Account"),
        Field("Name", "string", _company(), "Account Name", 255, nillable=False),
        _picklist("Type", ACCOUNT_TYPE, "Account Type"),
        Field(
            "ParentId",
            "reference",
            ref("Account", "parent", 5, sparse=True),
            "Parent Account ID",
            18,
            "Account",
            "Parent",
        ),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        Field("Phone", "phone", _phone("phone"), "Account Phone", 40),
        Field(
            "Fax",
            "phone",
            f"CASE WHEN {h('fax')} % 3 = 0 THEN NULL ELSE {_phone('fax')} END",
            "Account Fax",
            40,
        ),
        Field("AccountNumber", "string", "'AC-' || lpad(CAST(i AS VARCHAR), 8, '0')", "Account Number", 40),
        Field(
            "Website",
            "url",
            f"'https://www.' || lower({pick('name', COMPANY)}) || CAST(i AS VARCHAR) || '.example.com'",
            "Website",
            255,
        ),
        _picklist("Industry", INDUSTRY),
        Field("AnnualRevenue", "currency", _money("revenue", 50_000_000), "Annual Revenue"),
        Field("NumberOfEmployees", "int", f"CAST({h('employees')} % 100000 AS INTEGER)", "Employees"),
        _picklist("Ownership", OWNERSHIP),
        _picklist("Rating", RATING, "Account Rating"),
        Field("Description", "textarea", _long_text("desc"), "Account Description", 32000),
        *audit_fields(),
        Field("LastActivityDate", "date", date("activity"), "Last Activity"),
        Field("Active__c", "boolean", f"{h('active')} % 4 <> 0", "Active"),
        Field(
            "Tier__c",
            "multipicklist",
            f"{pick('tier1', TIERS)} || ';' || {pick('tier2', TIERS)}",
            "Tier",
            4099,
            picklist=TIERS,
        ),
        Field("SLAExpirationDate__c", "date", date("sla", 1460, "2024-01-01"), "SLA Expiration Date"),
        Field("Discount__c", "percent", f"round(({h('discount')} % 5000) / 100.0, 2)", "Discount"),
        Field("Score__c", "double", f"round(({h('score')} % 1000000) / 1000.0, 3)", "Score"),
        Field("Domain__c", "string", f"lower({pick('name', COMPANY)}) || '.example'", "Domain", 80),
        Field(
            "Revenue_Per_Employee__c",
            "currency",
            None,
            "Revenue per Employee",
            formula='"AnnualRevenue" / NULLIF("NumberOfEmployees", 0)',
        ),
    ),
    500,
)

CONTACT = SObject(
    "Contact",
    "Contact",
    "003",
    (
        id_field("Contact"),
        Field(
            "AccountId", "reference", ref("Account", "account", 10), "Account ID", 18, "Account", "Account"
        ),
        Field("LastName", "string", _last("c"), "Last Name", 80, nillable=False, compound_name="Name"),
        Field("FirstName", "string", _first("c"), "First Name", 40, compound_name="Name"),
        _picklist("Salutation", SALUTATION),
        Field("Name", "string", f"{_first('c')} || ' ' || {_last('c')}", "Full Name", 121),
        *address("Mailing", "Mailing"),
        Field("Phone", "phone", _phone("phone"), "Business Phone", 40),
        Field("Email", "email", _email("c"), "Email", 80),
        Field(
            "Title", "string", pick("title", ("CEO", "CTO", "Engineer", "Analyst", "VP Sales")), "Title", 128
        ),
        Field("Birthdate", "date", date("birth", 18000, "1950-01-01"), "Birthdate"),
        _picklist("LeadSource", LEAD_SOURCE, "Lead Source"),
        Field("HasOptedOutOfEmail", "boolean", f"{h('optout')} % 7 = 0", "Email Opt Out", nillable=False),
        Field("Description", "textarea", _long_text("cdesc"), "Contact Description", 32000),
        Field(
            "Account_Industry__c",
            "string",
            None,
            "Account Industry",
            1300,
            parent_formula=("AccountId", "Account", "Industry"),
            formula_text="TEXT(Account.Industry)",
        ),
        *audit_fields(),
    ),
    1000,
)

LEAD = SObject(
    "Lead",
    "Lead",
    "00Q",
    (
        id_field("Lead"),
        Field("LastName", "string", _last("l"), "Last Name", 80, nillable=False, compound_name="Name"),
        Field("FirstName", "string", _first("l"), "First Name", 40, compound_name="Name"),
        Field("Name", "string", f"{_first('l')} || ' ' || {_last('l')}", "Full Name", 121),
        Field("Company", "string", _company(), "Company", 255, nillable=False),
        _picklist("Status", LEAD_STATUS, "Lead Status"),
        Field("Email", "email", _email("l"), "Email", 80),
        Field("Phone", "phone", _phone("lphone"), "Phone", 40),
        _picklist("Industry", INDUSTRY),
        Field("AnnualRevenue", "currency", _money("lrev", 10_000_000), "Annual Revenue"),
        Field("NumberOfEmployees", "int", f"CAST({h('lemp')} % 5000 AS INTEGER)", "Employees"),
        Field("IsConverted", "boolean", f"{h('conv')} % 5 = 0", "Converted", nillable=False),
        *address("", "Lead"),
        _picklist("Rating", RATING),
        *audit_fields(),
    ),
    300,
)

CAMPAIGN = SObject(
    "Campaign",
    "Campaign",
    "701",
    (
        id_field("Campaign"),
        Field(
            "Name",
            "string",
            f"'Campaign ' || {pick('cname', COMPANY)} || ' ' || CAST(i AS VARCHAR)",
            "Name",
            80,
            nillable=False,
        ),
        _picklist("Type", CAMPAIGN_TYPE),
        _picklist("Status", CAMPAIGN_STATUS),
        Field("StartDate", "date", date("start", 1460), "Start Date"),
        Field("EndDate", "date", f"{date('start', 1460)} + 30", "End Date"),
        Field("BudgetedCost", "currency", _money("budget", 100_000), "Budgeted Cost in Campaign"),
        Field("ActualCost", "currency", _money("actual", 100_000), "Actual Cost in Campaign"),
        Field(
            "ExpectedResponse", "percent", f"round(({h('resp')} % 10000) / 100.0, 2)", "Expected Response (%)"
        ),
        Field("IsActive", "boolean", f"{h('cactive')} % 2 = 0", "Active", nillable=False),
        Field("NumberOfLeads", "int", f"CAST({h('nleads')} % 500 AS INTEGER)", "Leads in Campaign"),
        *audit_fields(),
    ),
    20,
)

OPPORTUNITY = SObject(
    "Opportunity",
    "Opportunity",
    "006",
    (
        id_field("Opportunity"),
        Field("AccountId", "reference", ref("Account", "oacc"), "Account ID", 18, "Account", "Account"),
        Field(
            "Name",
            "string",
            f"{pick('oname', COMPANY)} || ' deal ' || CAST(i AS VARCHAR)",
            "Name",
            120,
            nillable=False,
        ),
        _picklist("StageName", STAGES, "Stage"),
        Field("Amount", "currency", _money("amount", 1_000_000), "Amount"),
        Field("Probability", "percent", f"CAST(({h('prob')} % 11) * 10 AS DOUBLE)", "Probability (%)"),
        Field("CloseDate", "date", date("close", 1460, "2021-01-01"), "Close Date", nillable=False),
        _picklist("Type", ("New Customer", "Existing Customer - Upgrade", "Existing Customer - Renewal")),
        _picklist("LeadSource", LEAD_SOURCE, "Lead Source"),
        Field("IsClosed", "boolean", f"{h('oclosed')} % 3 = 0", "Closed", nillable=False),
        Field("IsWon", "boolean", f"{h('oclosed')} % 6 = 0", "Won", nillable=False),
        Field(
            "CampaignId", "reference", ref("Campaign", "ocamp", 3), "Campaign ID", 18, "Campaign", "Campaign"
        ),
        Field(
            "ExpectedRevenue",
            "currency",
            None,
            "Expected Amount",
            formula='CAST("Amount" * "Probability" / 100 AS DECIMAL(18,2))',
        ),
        *audit_fields(),
    ),
    500,
)

CASE = SObject(
    "Case",
    "Case",
    "500",
    (
        id_field("Case"),
        Field(
            "CaseNumber",
            "string",
            "lpad(CAST(i + 1 AS VARCHAR), 8, '0')",
            "Case Number",
            30,
            nillable=False,
            system=True,
        ),
        Field("AccountId", "reference", ref("Account", "caacc"), "Account ID", 18, "Account", "Account"),
        Field("ContactId", "reference", ref("Contact", "cacon", 4), "Contact ID", 18, "Contact", "Contact"),
        Field(
            "Subject",
            "string",
            hostile("subj", f"'Problem with ' || {pick('subj', INDUSTRY)}", 11),
            "Subject",
            255,
        ),
        Field("Description", "textarea", _long_text("casedesc"), "Description", 32000),
        _picklist("Status", CASE_STATUS),
        _picklist("Priority", PRIORITY),
        _picklist("Origin", ORIGIN, "Case Origin"),
        Field("IsClosed", "boolean", f"{h('cclosed')} % 4 = 0", "Closed", nillable=False),
        Field(
            "ClosedDate",
            "datetime",
            f"CASE WHEN {h('cclosed')} % 4 = 0 THEN {timestamp('closed')} END",
            "Closed Date",
        ),
        *audit_fields(),
    ),
    300,
)

USER = SObject(
    "User",
    "User",
    "005",
    (
        id_field("User"),
        Field(
            "Username",
            "string",
            "'user' || CAST(i AS VARCHAR) || '@headwater.example'",
            "Username",
            80,
            nillable=False,
        ),
        Field("LastName", "string", pick("ulast", LAST), "Last Name", 80, nillable=False),
        Field("FirstName", "string", pick("ufirst", FIRST), "First Name", 40),
        Field("Name", "string", f"{pick('ufirst', FIRST)} || ' ' || {pick('ulast', LAST)}", "Full Name", 121),
        Field(
            "Email", "email", "'user' || CAST(i AS VARCHAR) || '@example.com'", "Email", 128, nillable=False
        ),
        Field("Alias", "string", "'u' || CAST(i AS VARCHAR)", "Alias", 8, nillable=False),
        Field("IsActive", "boolean", f"{h('uactive')} % 10 <> 0", "Active", nillable=False),
        Field("Title", "string", pick("utitle", ("Sales Rep", "Manager", "Admin", "Support")), "Title", 80),
        _picklist("TimeZoneSidKey", TZ, "Time Zone"),
        Field(
            "ManagerId",
            "reference",
            f"CASE WHEN i = 0 THEN NULL ELSE {id_sql('User', '0')} END",
            "Manager ID",
            18,
            "User",
            "Manager",
        ),
        Field("LastLoginDate", "datetime", timestamp("login"), "Last Login", system=True),
        Field("Photo__c", "base64", "to_base64(encode('avatar-' || CAST(i AS VARCHAR)))", "Photo"),
        *audit_fields(owner=False),
    ),
    20,
)

TASK = SObject(
    "Task",
    "Task",
    "00T",
    (
        id_field("Task"),
        Field("WhoId", "reference", ref("Contact", "who", 5), "Name ID", 18, "Contact", "Who"),
        Field("WhatId", "reference", ref("Account", "what", 5), "Related To ID", 18, "Account", "What"),
        Field("Subject", "string", pick("tsubj", ("Call", "Email", "Send Quote", "Meeting")), "Subject", 255),
        Field("ActivityDate", "date", date("tdate"), "Due Date Only"),
        _picklist("Status", TASK_STATUS),
        _picklist("Priority", PRIORITY),
        Field("IsClosed", "boolean", f"{h('tclosed')} % 2 = 0", "Closed", nillable=False),
        Field("Description", "textarea", _long_text("tdesc"), "Comments", 32000),
        *audit_fields(),
    ),
    500,
)

INVOICE = SObject(
    "Invoice__c",
    "Invoice",
    "a0H",
    (
        id_field("Invoice__c"),
        Field(
            "Name",
            "string",
            "'INV-' || lpad(CAST(i + 1 AS VARCHAR), 7, '0')",
            "Invoice Number",
            80,
            nillable=False,
        ),
        Field("Account__c", "reference", ref("Account", "iacc"), "Account", 18, "Account", "Account__r"),
        Field("Amount__c", "currency", _money("iamount", 100_000), "Amount"),
        Field("Tax_Rate__c", "percent", f"CAST(({h('tax')} % 26) AS DOUBLE)", "Tax Rate"),
        Field(
            "Total__c",
            "currency",
            None,
            "Total",
            formula='CAST("Amount__c" * (1 + "Tax_Rate__c" / 100) AS DECIMAL(18,2))',
        ),
        Field(
            "Status__c", "picklist", pick("istatus", INVOICE_STATUS), "Status", 255, picklist=INVOICE_STATUS
        ),
        Field(
            "Tags__c",
            "multipicklist",
            f"{pick('itag1', TIERS)} || ';' || {pick('itag2', ACCOUNT_TYPE)}",
            "Tags",
            4099,
            picklist=TIERS + ACCOUNT_TYPE,
        ),
        Field("Due_Date__c", "date", date("due", 1460, "2021-01-01"), "Due Date"),
        Field("Paid__c", "boolean", f"{h('istatus')} % 5 = 2", "Paid", nillable=False),
        Field(
            "Paid_At__c",
            "datetime",
            f"CASE WHEN {h('istatus')} % 5 = 2 THEN {timestamp('paidat')} END",
            "Paid At",
        ),
        Field("Quantity__c", "double", f"round(({h('qty')} % 100000) / 100.0, 2)", "Quantity"),
        Field("Line_Count__c", "int", f"CAST({h('lines')} % 50 + 1 AS INTEGER)", "Line Count"),
        Field(
            "Billing_Email__c",
            "email",
            "'billing' || CAST(i AS VARCHAR) || '@example.com'",
            "Billing Email",
            80,
        ),
        Field("Support_Phone__c", "phone", _phone("isup"), "Support Phone", 40),
        Field(
            "Portal_Url__c",
            "url",
            "'https://portal.example.com/invoices/' || CAST(i AS VARCHAR)",
            "Portal URL",
            255,
        ),
        Field("Notes__c", "textarea", _long_text("inotes"), "Notes", 32000),
        Field(
            "Site__latitude__s",
            "double",
            f"round(({h('ilat')} % 180000000) / 1000000.0 - 90, 6)",
            "Site (Latitude)",
            compound_name="Site__c",
        ),
        Field(
            "Site__longitude__s",
            "double",
            f"round(({h('ilon')} % 360000000) / 1000000.0 - 180, 6)",
            "Site (Longitude)",
            compound_name="Site__c",
        ),
        Field(
            "Site__c",
            "location",
            None,
            "Site",
            components=(("latitude", "Site__latitude__s"), ("longitude", "Site__longitude__s")),
        ),
        Field("Scan__c", "base64", "to_base64(encode('%PDF-1.4 invoice ' || CAST(i AS VARCHAR)))", "Scan"),
        *audit_fields(),
    ),
    500,
)

OBJECTS: tuple[SObject, ...] = (USER, ACCOUNT, CONTACT, LEAD, CAMPAIGN, OPPORTUNITY, CASE, TASK, INVOICE)
BY_LOWER: dict[str, SObject] = {o.name.lower(): o for o in OBJECTS}


def find_object(name: str) -> SObject | None:
    return BY_LOWER.get(name.lower())
