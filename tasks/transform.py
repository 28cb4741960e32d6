"""Prefect tasks of the transform flow: plan, build a model, test it, record the version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hhcast.config import Settings
from tasks.marts.build import BuildPlan, ModelRun, build_model, plan_build
from tasks.marts.data_tests import DataTest, DataTestResult, discover_tests, run_tests
from tasks.marts.project import SqlModel, Window, discover, fingerprint
from tasks.marts.versions import DatasetVersion, record_version
from warehouse.connection import connect, ensure_schema


class DataTestsFailed(RuntimeError):
    """A model's data tests failed; the models downstream of it are not built."""

    def __init__(self, model: str, results: list[DataTestResult]) -> None:
        failing = [r for r in results if not r.passed]
        detail = "; ".join(f"{r.name}: {r.failing_rows} rows, e.g. {r.sample}" for r in failing)
        super().__init__(f"{model}: {detail}")
        self.model, self.results = model, results

    def __reduce__(self):  # keep the results when Prefect stores the failure
        return (DataTestsFailed, (self.model, self.results))


@dataclass
class BuildSummary:
    """What a transform run did: the plan, each model, each test, and the version recorded."""

    plan: BuildPlan
    runs: list[ModelRun] = field(default_factory=list)
    tests: list[DataTestResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    version: DatasetVersion | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def headline(self) -> str:
        if self.plan.mode == "up_to_date":
            return f"up to date ({self.plan.reason})"
        tests_failed = sum(not t.passed for t in self.tests)
        text = (
            f"{self.plan.mode} build ({self.plan.reason}): {len(self.runs)} models, "
            f"{len(self.tests)} data tests, {tests_failed} failed"
        )
        if self.skipped:
            text += f"; not built: {', '.join(self.skipped)}"
        if self.version:
            text += (
                f"; {self.version.weeks} weeks {self.version.first_week} to "
                f"{self.version.last_week}, dataset version {self.version.version_id}"
            )
        return text

    def markdown(self) -> str:
        lines = [f"**Transform**: {self.headline()}", "", "| model | built | rows | seconds |"]
        lines.append("|---|---|---|---|")
        for run in self.runs:
            lines.append(f"| {run.name} | {run.mode} | {run.rows or ''} | {run.seconds:.2f} |")
        failing = [t for t in self.tests if not t.passed]
        if failing:
            lines += ["", "| failing test | model | rows | sample |", "|---|---|---|---|"]
            lines += [
                f"| {t.name} | {t.model} | {t.failing_rows} | `{t.sample}` |" for t in failing
            ]
        return "\n".join(lines)


@task(name="discover-project", cache_policy=NO_CACHE)
def discover_project(settings: Settings) -> tuple[list[SqlModel], list[DataTest], str]:
    """The SQL models in build order, their data tests, and the models' fingerprint."""
    models = discover(settings)
    return models, discover_tests(models, settings), fingerprint(models, settings)


@task(name="plan-build", cache_policy=NO_CACHE)
def plan(settings: Settings, models: list[SqlModel], digest: str, full_refresh: bool) -> BuildPlan:
    """Decide between a full build, an incremental one over a window, or nothing to do."""
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        decided = plan_build(con, models, settings, digest, full_refresh)
    get_run_logger().info("%s: %s", decided.mode, decided.reason)
    return decided


@task(name="build-model", task_run_name="build {model.name}", cache_policy=NO_CACHE)
def build(model: SqlModel, settings: Settings, window: Window | None) -> ModelRun:
    """Materialise one model (its own connection: tasks may run in other threads)."""
    with connect(settings.warehouse) as con:
        return build_model(con, model, settings, window)


@task(name="data-tests", task_run_name="test {model_name}", cache_policy=NO_CACHE)
def test(
    model_name: str,
    tests: list[DataTest],
    settings: Settings,
    build_id: str,
    window: Window | None = None,
) -> list[DataTestResult]:
    """Run a model's data tests (on the rebuilt window if incremental); fail if any fails."""
    with connect(settings.warehouse) as con:
        results = run_tests(con, tests, settings, window)
        _record_results(con, build_id, results)
    if not all(r.passed for r in results):
        raise DataTestsFailed(model_name, results)
    return results


def _record_results(con, build_id: str, results: list[DataTestResult]) -> None:
    status = {True: "pass", False: "fail"}
    rows = [(r.name, r.model, status[r.passed], r.failing_rows, r.sample) for r in results]
    _record(con, build_id, rows)


def record_skipped(settings: Settings, build_id: str, tests: list[DataTest]) -> None:
    """Tests of models that were not built are recorded as skipped, not silently absent."""
    with connect(settings.warehouse) as con:
        _record(con, build_id, [(t.name, t.model, "skipped", None, None) for t in tests])


def _record(con, build_id: str, rows: list[tuple]) -> None:
    """Rows of (test, model, status, failing rows, sample) in one insert, not one per row."""
    columns = [list(column) for column in zip(*rows, strict=True)] or [[]] * 5
    con.execute(
        "insert into meta.data_test_results select ?, unnest(?::varchar[]), "
        "unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::bigint[]), unnest(?::json[]), ?",
        [build_id, *columns, datetime.now(UTC)],
    )


@task(name="record-dataset-version", cache_policy=NO_CACHE)
def version(settings: Settings, decided: BuildPlan) -> DatasetVersion:
    """Hash the marts, snapshot the weekly table to the lake, and record the version."""
    with connect(settings.warehouse) as con:
        return record_version(con, decided, settings)


@task(name="publish-transform-summary", cache_policy=NO_CACHE)
def publish(summary: BuildSummary) -> None:
    """Show the build in the Prefect UI."""
    verdict = "ok" if summary.ok else "FAILED"
    create_markdown_artifact(
        key="transform-summary",
        markdown=summary.markdown(),
        description=f"**Transform {verdict}**: {summary.headline()}",
    )
