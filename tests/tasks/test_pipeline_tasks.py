"""The pipeline run's summary: a row per step with its run's links, and a verdict that says
which step failed and why."""

from __future__ import annotations

from prefect.states import Completed, Crashed

from tasks.pipeline import Step, broken_steps, description, log_lines, markdown

UI = "http://127.0.0.1:4200"
INGEST_RUN = "0b7e7a52-0000-4000-8000-000000000001"
TRAIN_RUN = "0b7e7a52-0000-4000-8000-000000000004"
REPORT_RUN = "0b7e7a52-0000-4000-8000-000000000007"
NAMES = {INGEST_RUN: "ingest-landing", TRAIN_RUN: "train-latest-auto"}
BRIEF = "12 files, dataset version v1, champion ridge-1, forecast of 8 weeks"


def steps(train: Step | None = None) -> list[Step]:
    return [
        Step("ingest", "ok", "12 files (12 loaded)", INGEST_RUN),
        Step("transform", "ok", "up to date (nothing new)"),
        Step("monitor", "ok", "3 forecast weeks scored; alert: none"),
        train or Step("train", "ok", "2 candidates on dataset version v1", TRAIN_RUN),
        Step("champion", "ok", "ridge-1 (linear), holdout MAE 41.9 HH per week", TRAIN_RUN),
        Step("forecast", "skipped", "no forecast: no champion yet: train"),
        Step("report", "ok", "report /lake/reports/r.html (1.2 MB), 5 charts", REPORT_RUN,
             "https://reports.example/r.html"),
    ]  # fmt: skip


def rows(text: str) -> dict[str, list[str]]:
    """The markdown table's cells by step."""
    table = [line for line in text.splitlines() if line.startswith("| ")][1:]
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in table]
    return {c[0]: c[1:] for c in cells}


def test_every_step_has_a_row_with_its_status_verdict_and_run_links():
    text = markdown(steps(), UI, NAMES)
    table = rows(text)
    assert list(table) == ["ingest", "transform", "monitor", "train", "champion", "forecast",
                           "report"]  # fmt: skip
    status, run, verdict = table["ingest"]
    assert (status, verdict) == ("ok", "12 files (12 loaded)")
    page = f"{UI}/runs/flow-run/{INGEST_RUN}"
    assert run == f"[ingest-landing]({page}) · [artifacts]({page}?tab=Artifacts)"
    assert table["forecast"][0] == "skipped"
    assert table["transform"][1] == "—"  # no run id known: nothing to link
    # the champion row links the run that decided it
    assert f"[train-latest-auto]({UI}/runs/flow-run/{TRAIN_RUN})" in table["champion"][1]


def test_the_report_row_links_its_page_and_an_unnamed_run_by_its_id():
    run = rows(markdown(steps(), UI, NAMES))["report"][1]
    assert f"[{REPORT_RUN}]({UI}/runs/flow-run/{REPORT_RUN})" in run
    assert run.endswith("[page](https://reports.example/r.html)")


def test_without_a_ui_address_runs_are_named_with_their_ids():
    text = markdown(steps(), None, NAMES)
    assert "http://" not in text and "/runs/flow-run/" not in text
    assert rows(text)["ingest"][1] == f"`ingest-landing` (run `{INGEST_RUN}`)"
    assert "No Prefect UI address is known" in text


def test_the_verdict_is_ok_with_the_brief_when_no_step_failed():
    assert description(steps(), BRIEF) == f"**Pipeline ok**: {BRIEF}"


def test_a_failed_step_makes_the_verdict_say_which_and_why():
    failed = Step("train", "failed", "candidate ridge: singular\nmatrix", TRAIN_RUN)
    said = description(steps(failed), BRIEF)
    assert said == "**Pipeline needs attention**: train failed: candidate ridge: singular matrix"
    assert rows(markdown(steps(failed), UI, NAMES))["train"][0] == "failed"


def test_a_verdict_holding_a_pipe_stays_in_its_cell():
    odd = Step("train", "ok", "a | b", TRAIN_RUN)
    table = rows(markdown(steps(odd), UI, NAMES))
    assert table["train"][2] == "a \\| b"
    assert len(table["train"]) == 3


def test_the_log_has_the_verdict_then_a_line_per_step():
    first, *lines = log_lines(steps(), BRIEF).splitlines()
    assert first == f"Pipeline ok: {BRIEF}"
    assert len(lines) == 7
    assert lines[0].split() == ["ingest", "ok:", "12", "files", "(12", "loaded)"]
    assert lines[5].split()[:2] == ["forecast", "skipped:"]


def test_a_step_that_raised_is_the_failed_row_of_the_page_and_the_verdict_names_it():
    states = {"ingest": Completed(), "transform": Crashed(message="disk full")}
    broken = broken_steps(states, OSError("disk full"))
    assert [(s.name, s.status) for s in broken] == [("ingest", "ok"), ("transform", "failed")]
    assert broken[1].verdict == "Crashed: disk full"
    assert (
        description(broken, "")
        == "**Pipeline needs attention**: transform failed: Crashed: disk full"
    )


def test_an_error_no_step_shows_gets_a_row_of_its_own():
    broken = broken_steps({"ingest": Completed()}, ValueError("no champion table"))
    assert [(s.name, s.status) for s in broken] == [("ingest", "ok"), ("pipeline", "failed")]
    assert broken[-1].verdict == "ValueError: no champion table"
