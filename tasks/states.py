"""A finished flow run's state as a value: what it returned, or its crash raised.

Prefect hands a subflow's value back on its final state, but only on the state the engine
proposed. When the API committed that state and the answer was lost on the way (a busy
server: its SQLite "database is locked"), the client asks again, the server rejects the
duplicate transition and the engine takes the server's copy, which holds no data: results
are not persisted here. `state.result()` then raises MissingResult for a run that did its
work. So each flow returns through `keep`, which holds its value in this process under its
run's id, and `outcome_of` takes it from there when the state came back without it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, TypeVar

from prefect.runtime import flow_run
from prefect.states import State

T = TypeVar("T")

KEPT_AT_MOST = 64  # values kept for runs whose caller never read them (a flow run on its own)
_KEPT: OrderedDict[str, Any] = OrderedDict()
_NOTHING = object()


def keep(returned: T) -> T:
    """A flow's return value (a summary, or the Failed state carrying one), kept for
    `outcome_of` under the running flow's id; returned unchanged."""
    run_id = flow_run.get_id()
    if run_id:
        _KEPT[str(run_id)] = returned.data if isinstance(returned, State) else returned
        while len(_KEPT) > KEPT_AT_MOST:
            _KEPT.popitem(last=False)
    return returned


def outcome_of(state: State) -> Any:
    """What a finished (sub)flow run returned, or the exception it ended with, unraised."""
    kept = _KEPT.pop(run_id_of(state) or "", _NOTHING)
    if state.data is None and kept is not _NOTHING:  # the server's copy of the state
        return kept
    return state.result(raise_on_failure=False)


def value_of(state: State):
    """A (sub)flow's return value, a reported failure's summary included; a crash is raised.

    Flows here end Failed with their summary as the state's data when something needs a
    person (a rejected file, a failing data test); an exception instead means the run itself
    broke, and the caller should not carry on as if it had a summary.
    """
    value = outcome_of(state)
    if isinstance(value, BaseException):
        raise value
    return value


def run_id_of(state: State) -> str | None:
    """The id of the (sub)flow run that ended in `state`, for a link to its page."""
    run_id = state.state_details.flow_run_id
    return str(run_id) if run_id else None
