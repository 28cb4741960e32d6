"""A finished flow run's state as a value: what it returned, or its crash raised."""

from __future__ import annotations

from prefect.states import State


def value_of(state: State):
    """A (sub)flow's return value, a reported failure's summary included; a crash is raised.

    Flows here end Failed with their summary as the state's data when something needs a
    person (a rejected file, a failing data test); an exception instead means the run itself
    broke, and the caller should not carry on as if it had a summary.
    """
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    return value


def run_id_of(state: State) -> str | None:
    """The id of the (sub)flow run that ended in `state`, for a link to its page."""
    run_id = state.state_details.flow_run_id
    return str(run_id) if run_id else None
