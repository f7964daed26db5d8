"""Forms generated from an auth spec's JSON Schema, and the submitted values read back into params.

Only what auth specs use: string (``format: password`` = secret), boolean, integer/number, ``enum``,
``pattern``, ``required``, ``default`` and ``description`` (help text). Validation itself is the
service layer's (``Connections.check_auth``), so the page and the API give the same errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACRONYMS = {"url": "URL", "id": "ID", "api": "API", "oauth": "OAuth", "uri": "URI"}
PARAM_PREFIX = "param."


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # "text", "password", "checkbox", "select", "number"
    required: bool
    help: str
    pattern: str | None = None
    options: tuple[str, ...] = ()
    default: Any = None

    @property
    def input_name(self) -> str:
        return PARAM_PREFIX + self.name

    @property
    def secret(self) -> bool:
        return self.kind == "password"


def label_of(name: str) -> str:
    """``environmentUrl`` -> ``Environment URL``; ``securityToken`` -> ``Security token``."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name) or [name]
    out = [ACRONYMS.get(word.lower(), word.lower()) for word in words]
    first = out[0]
    out[0] = first if first in ACRONYMS.values() else first.capitalize()
    return " ".join(out)


def fields_of(auth_spec: Mapping[str, Any]) -> list[FormField]:
    schema = auth_spec.get("spec", {})
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        kind = "text"
        if prop.get("format") == "password":
            kind = "password"
        elif prop.get("type") == "boolean":
            kind = "checkbox"
        elif "enum" in prop:
            kind = "select"
        elif prop.get("type") in ("integer", "number"):
            kind = "number"
        fields.append(
            FormField(
                name=name,
                label=label_of(name),
                kind=kind,
                required=name in required,
                help=str(prop.get("description", "")),
                pattern=prop.get("pattern"),
                options=tuple(str(v) for v in prop.get("enum", ())),
                default=prop.get("default"),
            )
        )
    return fields


def params_from_form(
    fields: list[FormField], form: Mapping[str, Any], *, keep_secrets: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Submitted values as auth params: blanks are left out; an empty secret keeps ``keep_secrets``'."""
    params: dict[str, Any] = {}
    for field in fields:
        raw = form.get(field.input_name)
        if field.kind == "checkbox":
            params[field.name] = raw is not None
            continue
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            if field.secret and keep_secrets and field.name in keep_secrets:
                params[field.name] = keep_secrets[field.name]
            continue
        if field.kind == "number":
            try:
                params[field.name] = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
            except ValueError:
                params[field.name] = text  # the schema check names the field
            continue
        params[field.name] = text
    return params


def visible_values(fields: list[FormField], params: Mapping[str, Any]) -> dict[str, Any]:
    """Values to put back into a form: never a secret."""
    return {f.name: params[f.name] for f in fields if not f.secret and f.name in params}
