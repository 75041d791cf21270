"""Callr Actions ``fetch@v2`` push from a scenario's ``hangup`` branch → CDR. Pure.

Source: shared/vendors.md §1.5. The body is whatever the user templates; the documented one is
``{"cdr": ${{ JSON.stringify(call.cdr) }}}`` (``$dial.cdr`` after ``dial@v1``), and other top-level
keys are allowed and ignored. The CDR object is the v2 one (§1.4). Callr does not sign these
requests: the user puts ``Authorization: Bearer <CALLR_ACTIONS_TOKEN>`` in the action's headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.cdr import CDR, Source
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.callr._common import v2_call_id, v2_to_cdr

FEED = "callr.actions"
SOURCE = Source.PUSH


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    cdr = payload.get("cdr")
    if cdr is None:
        raise PayloadError('body.cdr: required (post {"cdr": call.cdr} from the hangup branch)')
    return Record(call_id=v2_call_id(cdr, "cdr"), data=cdr)


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    return v2_to_cdr(record.data, account=account, where="cdr")
