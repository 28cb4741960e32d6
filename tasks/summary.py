"""What an ingest run did, file by file: for the terminal, the Prefect UI and the exit code."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.load import FileOutcome


@dataclass(frozen=True)
class IngestSummary:
    """The outcomes of one ingest run, one per landed file."""

    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def by_status(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    def headline(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.by_status.items()))
        return (
            f"{len(self.outcomes)} files ({counts or 'none'}); {self.rows_loaded:,} rows loaded, "
            f"{self.rows_quarantined:,} rows quarantined"
        )

    def table(self) -> list[dict[str, object]]:
        """One row per file that needed work (unchanged files are counted, not listed)."""
        return [
            {
                "file": o.uri,
                "status": o.status,
                "layout": o.layout or "",
                "rows read": o.rows_read,
                "loaded": o.rows_loaded,
                "quarantined": o.rows_quarantined,
                "error": o.error or "",
            }
            for o in self.outcomes
            if o.status != "unchanged"
        ]

    def render(self, limit: int = 15) -> str:
        """A plain-text report for the terminal: the headline, then files that need a look."""
        attention = [r for r in self.table() if r["status"] != "loaded" or r["quarantined"]]
        attention.sort(key=lambda r: (r["status"] == "loaded", -int(r["quarantined"])))
        lines = [self.headline()]
        if attention:
            lines.append(f"{'status':<18} {'rows':>9} {'quar.':>6}  file")
        for row in attention[:limit]:
            counts = f"{row['rows read']:>9,} {row['quarantined']:>6,}"
            lines.append(f"{row['status']:<18} {counts}  {row['file']}")
            if row["error"]:
                lines.append(f"{'':<18} -> {row['error']}")
        if len(attention) > limit:
            lines.append(f"... and {len(attention) - limit} more (see meta.ingested_files)")
        if self.rows_quarantined:
            lines.append('quarantined rows: hhcast sql "select * from meta.quarantine"')
        return "\n".join(lines)


@task(name="publish-ingest-summary", cache_policy=NO_CACHE)
def publish_ingest_summary(summary: IngestSummary) -> None:
    """Show the run's files in the Prefect UI as a table artifact."""
    create_table_artifact(
        key="ingest-summary",
        table=summary.table() or [{"file": "(no new or changed files)"}],
        description=f"**Ingest**: {summary.headline()}",
    )
