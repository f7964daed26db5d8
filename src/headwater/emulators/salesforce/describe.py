"""Describe Global and sObject Describe bodies, derived from the catalogue."""

from __future__ import annotations

from typing import Any

from .catalog import OBJECTS
from .schema import SOAP_TYPES, Field, SObject

_BOOL_FALSE = [
    "autoNumber",
    "cascadeDelete",
    "caseSensitive",
    "dependentPicklist",
    "deprecatedAndHidden",
    "displayLocationInDecimal",
    "encrypted",
    "externalId",
    "highScaleNumber",
    "htmlFormatted",
    "permissionable",
    "queryByDistance",
    "restrictedDelete",
    "unique",
    "writeRequiresMasterRead",
    "polymorphicForeignKey",
]


def sobject_summary(sobject: SObject, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    return {
        "activateable": False,
        "createable": True,
        "custom": sobject.custom,
        "customSetting": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": not sobject.custom,
        "hasSubtypes": False,
        "isSubtype": False,
        "keyPrefix": sobject.key_prefix,
        "label": sobject.label,
        "labelPlural": sobject.label + "s",
        "layoutable": True,
        "mergeable": sobject.name in ("Account", "Contact", "Lead"),
        "mruEnabled": True,
        "name": sobject.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": {"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
    }


def describe_global(version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [sobject_summary(o, version) for o in OBJECTS],
    }


def describe_field(f: Field) -> dict[str, Any]:
    numeric = f.type in ("double", "currency", "percent")
    body: dict[str, Any] = {key: False for key in _BOOL_FALSE}
    body.update(
        {
            "aggregatable": f.type not in ("textarea", "address", "location", "base64"),
            "byteLength": f.length * 3 if f.length else 0,
            "calculated": f.calculated,
            "calculatedFormula": f.formula_text or f.formula,
            "compoundFieldName": f.compound_name,
            "controllerName": None,
            "createable": not f.system and f.stored,
            "custom": f.custom,
            "defaultValue": None,
            "defaultValueFormula": None,
            "defaultedOnCreate": f.system or f.type == "boolean",
            "digits": 9 if f.type == "int" else 0,
            "extraTypeInfo": "plaintextarea" if f.type == "textarea" else None,
            "filterable": f.type not in ("address", "location", "base64")
            and not (f.type == "textarea" and f.length > 255),
            "filteredLookupInfo": None,
            "formula": f.formula_text or f.formula,
            "groupable": f.type
            not in ("double", "currency", "percent", "datetime", "textarea", "address", "location", "base64"),
            "idLookup": f.name == "Id",
            "inlineHelpText": None,
            "label": f.label or f.name,
            "length": f.length
            if f.type not in ("boolean", "int", "double", "currency", "percent", "date", "datetime")
            else 0,
            "mask": None,
            "maskType": None,
            "name": f.name,
            "nameField": f.name == "Name",
            "namePointing": False,
            "nillable": f.nillable,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in f.picklist
            ],
            "precision": 18 if numeric else 0,
            "referenceTargetField": None,
            "referenceTo": [f.reference_to] if f.reference_to else [],
            "relationshipName": f.relationship_name,
            "relationshipOrder": None,
            "restrictedPicklist": bool(f.picklist),
            "scale": 2 if numeric else 0,
            "searchPrefilterable": False,
            "soapType": SOAP_TYPES.get(f.type, "xsd:string"),
            "sortable": f.type not in ("address", "location", "base64", "multipicklist")
            and not (f.type == "textarea" and f.length > 255),
            "type": f.type,
            "updateable": not f.system and f.stored,
        }
    )
    return body


def describe_sobject(sobject: SObject, version: str) -> dict[str, Any]:
    body = sobject_summary(sobject, version)
    children = [
        {
            "cascadeDelete": False,
            "childSObject": child.name,
            "deprecatedAndHidden": False,
            "field": f.name,
            "relationshipName": (child.name.removesuffix("__c") + "s__r")
            if child.custom
            else child.name + "s",
            "restrictedDelete": False,
        }
        for child in OBJECTS
        for f in child.fields
        if f.reference_to == sobject.name and not f.system and f.name != "OwnerId"
    ]
    body.update(
        {
            "actionOverrides": [],
            "childRelationships": children,
            "compactLayoutable": True,
            "fields": [describe_field(f) for f in sobject.fields],
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [],
            "searchLayoutable": True,
            "supportedScopes": [{"label": "All " + sobject.label + "s", "name": "everything"}],
            "urlDetail": None,
            "urlEdit": None,
            "urlNew": None,
        }
    )
    return body
