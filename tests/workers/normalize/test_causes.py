"""Hangup causes: FreeSWITCH names, the Q.850 range, SIP codes, cause → status."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.cdr import Status
from workers.normalize.causes import FREESWITCH_CAUSES, cause_code, q850, sip_code, status_from_cause


@pytest.mark.parametrize(
    ("value", "expected"),
    [("NORMAL_CLEARING", 16), ("normal_clearing", 16), (16, 16), ("16", 16), ("ORIGINATOR_CANCEL", None),
     ("SUCCESS", None), ("MEDIA_TIMEOUT", None), ("NONE", None), ("NOT_A_CAUSE", None), (None, None),
     (127, 127), (128, None)],
)  # fmt: skip
def test_q850_only_1_to_127(value: str | int | None, expected: int | None) -> None:
    """Only causes 1-127 are Q.850; FreeSWITCH's own (142, 487+) never are."""
    assert q850(value) == expected


def test_internal_causes_keep_their_code() -> None:
    """Internal causes still have a code (for status), just not a Q.850 one."""
    assert cause_code("ORIGINATOR_CANCEL") == 487
    assert cause_code("STALE_DATE") == 624


@given(st.sampled_from(sorted(FREESWITCH_CAUSES)))
def test_every_name_maps_within_range(name: str) -> None:
    """Every FreeSWITCH name's q850 is None or its code within 1-127."""
    result = q850(name)
    assert result is None or (1 <= result <= 127 and result == FREESWITCH_CAUSES[name])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sip:200", 200),
        ("SIP:486", 486),
        ("487", 487),
        ("sip:", None),
        ("q850:16", None),
        (None, None),
        ("sip:999", None),
    ],
)
def test_sip_code(value: str | None, expected: int | None) -> None:
    """sip:NNN values give the SIP status; anything else gives None."""
    assert sip_code(value) == expected


@pytest.mark.parametrize(
    ("code", "answered", "expected"),
    [(16, True, Status.ANSWERED), (17, False, Status.BUSY), (19, False, Status.NO_ANSWER),
     (21, False, Status.REJECTED), (34, False, Status.FAILED), (487, False, Status.CANCELLED),
     (16, False, Status.UNKNOWN), (None, False, Status.UNKNOWN)],
)  # fmt: skip
def test_status_from_cause(code: int | None, answered: bool, expected: Status) -> None:
    """Q.850 17 busy, 19 no answer, 21 rejected, ORIGINATOR_CANCEL cancelled; answered wins."""
    assert status_from_cause(code, answered=answered) == expected
