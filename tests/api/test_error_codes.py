"""The one table from domain errors to Adobe's codes covers every reason the product raises."""

from __future__ import annotations

import re
from pathlib import Path

import headwater
from headwater.api.error_codes import CODES, code_of, status_of
from headwater.core.errors import Conflict, Invalid, NotFound, PreconditionFailed, SourceFailed

SOURCE = Path(headwater.__file__).parent
RAISED = re.compile(
    r"""(?:\b(?:Invalid|Conflict|PreconditionFailed|SourceFailed|DomainError|invalid|_bad_request|_failed)\(\s*"""
    r"""|reason=)"([a-z_]+(?:\.[a-z_]+)*)\"""",
)


def reasons_in_source() -> set[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if "emulators" in path.parts:
            continue
        found |= set(RAISED.findall(path.read_text()))
    return found


def test_every_raised_reason_has_a_code() -> None:
    raised = reasons_in_source()
    assert len(raised) > 60  # the scan sees the product's reasons
    assert sorted(raised - set(CODES)) == []


def test_codes_are_well_formed() -> None:
    for reason, (code, title) in CODES.items():
        assert re.fullmatch(r"\d{4}-\d{3}", code), reason
        assert title and 400 <= int(code[-3:]) <= 599, reason


def test_classes_fall_back_to_their_own_rows() -> None:
    assert code_of(NotFound("flows", "x"))[0] == "1439-404"
    assert code_of(PreconditionFailed("unlisted.reason", "m"))[0] == "1404-412"
    assert code_of(SourceFailed("unlisted.reason", "m"))[0] == "1390-400"
    assert code_of(Conflict("unlisted.reason", "m"))[0] == "1000-409"
    assert status_of(Invalid("unlisted.reason", "m")) == 400
    assert code_of(Invalid("schedule.start_time_past", "m")) == ("1360-400", "Bad Request")
