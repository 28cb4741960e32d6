"""The registry: exactly one champion at any moment, even when a process dies mid-decision."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime

import pytest

from tasks import registry
from tasks.registry import ChampionChanged, Decision, RegistryError
from warehouse.connection import connect, ensure_schema


def add_model(con, model_id: str, status: str = "candidate") -> None:
    con.execute(
        "insert into ml.models values (?, 'run', ?, 'linear', '[\"acft\"]', '{}', 7, 'v1', "
        "?, ?, 52, ?, ?, ?, 'test', ?, 'sha', ?, ?)",
        [
            model_id, model_id.split("-")[0], date(2020, 1, 6), date(2020, 12, 28),
            date(2021, 1, 4), date(2021, 6, 28), json.dumps({"mae": 1.0}),
            f"/lake/models/{model_id}.skops", datetime.now(UTC), status,
        ],
    )  # fmt: skip


def statuses(con) -> dict[str, str]:
    return dict(con.execute("select model_id, status from ml.models").fetchall())


def promote(from_model: str | None, to_model: str) -> Decision:
    return Decision("promote", from_model, to_model, to_model, "auto", "policy", "better")


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "hhcast.duckdb"
    with connect(path) as con:
        ensure_schema(con)
        add_model(con, "naive-a", "champion")
        add_model(con, "ridge-b", "challenger")
        add_model(con, "mlp-c")
    return path


def test_promotion_swaps_the_champion_and_records_the_decision(warehouse):
    with connect(warehouse) as con:
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        assert statuses(con) == {"naive-a": "retired", "ridge-b": "champion", "mlp-c": "candidate"}
        assert registry.champion(con).model_id == "ridge-b"
        (row,) = con.execute(
            "select action, from_model, to_model, champion_after, run_id from ml.promotions"
        ).fetchall()
        assert row == ("promote", "naive-a", "ridge-b", "ridge-b", "r1")


def test_keeping_the_champion_changes_no_status_but_is_recorded(warehouse):
    with connect(warehouse) as con:
        keep = Decision("keep", "naive-a", "ridge-b", "naive-a", "manual", "ana", "not yet")
        registry.decide(con, keep, run_id="r1")
        assert statuses(con)["naive-a"] == "champion"
        assert statuses(con)["ridge-b"] == "challenger"
        assert con.execute("select decided_by, note from ml.promotions").fetchall() == [
            ("ana", "not yet")
        ]


def test_a_decision_made_against_an_old_champion_is_refused(warehouse):
    with connect(warehouse) as con:
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        with pytest.raises(ChampionChanged, match="the champion is now ridge-b"):
            registry.decide(con, promote("naive-a", "mlp-c"), run_id="r2")
        assert registry.champion(con).model_id == "ridge-b"
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(1,)]


def test_an_error_between_the_two_status_changes_leaves_the_old_champion(warehouse, monkeypatch):
    real = registry._set_status

    def fail_on_crowning(con, model_id, status):
        if status == "champion":
            raise RuntimeError("injected crash after retiring the champion")
        real(con, model_id, status)

    monkeypatch.setattr(registry, "_set_status", fail_on_crowning)
    with connect(warehouse) as con:
        with pytest.raises(RuntimeError, match="injected"):
            registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        assert statuses(con) == {
            "naive-a": "champion",
            "ridge-b": "challenger",
            "mlp-c": "candidate",
        }
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(0,)]


def test_a_process_killed_between_the_two_status_changes_leaves_one_champion(warehouse):
    # The old champion is retired inside the transaction, then the process dies at once (no
    # exception handler, no rollback call) before the challenger is crowned.
    script = textwrap.dedent(
        f"""
        import os
        from tasks import registry
        from tasks.registry import Decision
        from warehouse.connection import connect

        real = registry._set_status
        def die_on_crowning(con, model_id, status):
            if status == "champion":
                os._exit(17)
            real(con, model_id, status)
        registry._set_status = die_on_crowning
        with connect({str(warehouse)!r}) as con:
            registry.decide(con, Decision("promote", "naive-a", "ridge-b", "ridge-b", "auto",
                                          "policy", "better"), run_id="r1")
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 17, killed.stderr
    with connect(warehouse) as con:
        champions = con.execute("select model_id from ml.models where status = 'champion'")
        assert champions.fetchall() == [("naive-a",)]
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(0,)]
        # and the registry still works afterwards
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r2")
        assert registry.champion(con).model_id == "ridge-b"


def test_rollback_restores_the_champion_that_was_replaced(warehouse):
    with connect(warehouse) as con:
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        registry.decide(con, promote("ridge-b", "mlp-c"), run_id="r2")
        back = registry.rollback_decision(con, decided_by="ana", note="mlp drifts")
        assert (back.from_model, back.champion_after) == ("mlp-c", "ridge-b")
        registry.decide(con, back, run_id=None)
        assert statuses(con) == {"naive-a": "retired", "ridge-b": "champion", "mlp-c": "retired"}
        # a second rollback walks further back, it does not toggle
        registry.decide(con, registry.rollback_decision(con, "ana", ""), run_id=None)
        assert registry.champion(con).model_id == "naive-a"
        actions = con.execute("select action from ml.promotions order by decided_at").fetchall()
        assert [a for (a,) in actions] == ["promote", "promote", "rollback", "rollback"]


def test_rollback_without_an_earlier_champion_says_so(warehouse):
    with connect(warehouse) as con, pytest.raises(RegistryError, match="no earlier champion"):
        registry.rollback_decision(con, decided_by="ana", note="")


def test_a_second_champion_is_never_committed(warehouse):
    with connect(warehouse) as con:
        wrong = Decision("promote", "naive-a", "ridge-b", "ridge-b", "auto", "policy", "")
        con.execute("update ml.models set status = 'champion' where model_id = 'mlp-c'")
        with pytest.raises(RegistryError, match="2 champions"):
            registry.decide(con, wrong, run_id="r1")
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(0,)]
