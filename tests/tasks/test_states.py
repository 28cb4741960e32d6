"""A flow's value survives the state the API hands back when a committed transition is sent
again (the client's retry after a lost answer): the server's copy holds no data."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from prefect import flow, get_client
from prefect.client.schemas.objects import StateType
from prefect.exceptions import MissingResult
from prefect.states import Failed, State, to_state_create

from tasks.states import keep, outcome_of, value_of


@dataclass(frozen=True)
class Figures:
    weeks: int


@flow
def kept_flow(weeks: int) -> Figures:
    return keep(Figures(weeks))


@flow
def kept_failure(weeks: int) -> State:
    return keep(Failed(message="a file was rejected", data=Figures(weeks)))


@flow
def unkept_flow(weeks: int) -> Figures:
    return Figures(weeks)


def retried_transition(state: State) -> State:
    """What the engine is handed when its proposal of `state` reaches the server a second
    time: the API rejects the duplicate transition and returns its own copy of the state."""
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        committed = client.read_flow_run(run_id).state
        proposal = to_state_create(state)
        proposal.state_details.flow_run_id = run_id
        proposal.state_details.transition_id = committed.state_details.transition_id
        response = client.request(
            "POST",
            "/flow_runs/{id}/set_state",
            path_params={"id": run_id},
            json={"state": proposal.model_dump(mode="json", serialize_as_any=True)},
        ).json()
    assert response["status"] == "REJECT", response
    handed_back = State.model_validate(response["state"])
    assert handed_back.data is None and handed_back.state_details.flow_run_id == run_id
    return handed_back


def test_prefect_alone_loses_the_value_of_a_retried_transition(prefect_harness):
    state = unkept_flow(3, return_state=True)
    handed_back = retried_transition(state)
    assert handed_back.type == StateType.COMPLETED
    with pytest.raises(MissingResult):
        value_of(handed_back)


def test_a_kept_value_is_read_from_the_servers_copy_of_the_state(prefect_harness):
    handed_back = retried_transition(kept_flow(5, return_state=True))
    assert value_of(handed_back) == Figures(5)


def test_a_failed_runs_summary_is_kept_too(prefect_harness):
    handed_back = retried_transition(kept_failure(7, return_state=True))
    assert handed_back.type == StateType.FAILED
    assert outcome_of(handed_back) == Figures(7)


def test_a_state_with_its_data_gives_it_and_the_kept_copy_is_let_go(prefect_harness):
    state = kept_flow(9, return_state=True)
    assert value_of(state) == Figures(9)
    with pytest.raises(MissingResult):  # read once: the process does not hold it any longer
        value_of(retried_transition(state))
