"""Hand-made raw rows in a real warehouse, and a way to build the SQL models over them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tasks.marts.build import build_model
from tasks.marts.project import discover
from warehouse.connection import connect, ensure_schema

EVENT_COLUMNS = (
    "sign", "registration", "aircraft_type", "closing_date", "ata_description",
    "hh_planned", "hh_executed", "source_file", "source_row",
)  # fmt: skip
FLIGHT_COLUMNS = (
    "dep_date", "registration", "aircraft_type", "flights", "block_hours", "cycles", "tah",
    "is_placeholder", "source_file", "source_row",
)  # fmt: skip
PLAN_COLUMNS = (
    "dep_date", "registration", "aircraft_type", "flights", "block_hours", "cycles",
    "is_placeholder", "plan_issued_at", "plan_issued_from", "source_file", "source_row",
)  # fmt: skip


def event(day=date(2024, 1, 3), reg="PR-GAA", hh=1.0, sign="MECHANIC", kind="B737NG",
          desc="LANDING GEAR", planned=None, file="e1.xlsx", row=2):  # fmt: skip
    """One raw event row, as ingestion would have loaded it."""
    return (sign, reg, kind, day, desc, planned, hh, file, row)


def flight(day=date(2024, 1, 3), reg="PR-GAA", hours=8.0, cycles=4, tah=20000.0,
           kind="B737NG", placeholder=False, file="u1.csv", row=2):  # fmt: skip
    """One raw utilisation row."""
    return (day, reg, kind, cycles, hours, cycles, tah, placeholder, file, row)


def planned(day=date(2024, 1, 3), reg="PR-GAA", hours=8.0, cycles=4, kind="B737NG",
            placeholder=False, issued=None, file=None, row=2):  # fmt: skip
    """One raw flight-plan row of the issue dated `issued` (by default, the Monday of `day`'s
    week), in the file named after its issue date unless `file` says otherwise."""
    issued = issued or day - timedelta(days=day.weekday())
    file = file or f"flight_plan_issued_{issued}.csv"
    return (day, reg, kind, cycles, hours, cycles, placeholder, issued, "file_name", file, row)


class RawWarehouse:
    """Insert raw rows, build the models, query the result."""

    def __init__(self, settings):
        self.settings = settings
        with connect(settings.warehouse) as con:
            ensure_schema(con)

    def add(self, events=(), flights=(), plans=(), now: datetime | None = None):
        now = now or datetime.now(UTC)
        with connect(self.settings.warehouse) as con:
            for table, columns, rows in (
                ("raw.unscheduled_events", EVENT_COLUMNS, events),
                ("raw.aircraft_utilization", FLIGHT_COLUMNS, flights),
                ("raw.flight_plan", PLAN_COLUMNS, plans),
            ):
                for row in rows:
                    names = [*columns, "layout", "loaded_at"]
                    con.execute(
                        f"insert into {table} ({', '.join(names)}) "
                        f"values ({', '.join('?' for _ in names)})",
                        [*row, "test", now],
                    )
                    self.register(con, row[columns.index("source_file")], table, now)

    @staticmethod
    def register(con, uri: str, table: str, now: datetime) -> None:
        """Log the file in meta.ingested_files, as ingestion does with every file it loads."""
        con.execute(
            "insert or ignore into meta.ingested_files (uri, sha256, bytes, source, rows_read, "
            "rows_loaded, rows_quarantined, status, ingested_at) "
            "values (?, 'test', 0, ?, 0, 0, 0, 'loaded', ?)",
            [uri, table.removeprefix("raw."), now],
        )

    def build(self):
        with connect(self.settings.warehouse) as con:
            for model in discover(self.settings):
                build_model(con, model, self.settings, None)

    def query(self, sql: str) -> list[tuple]:
        with connect(self.settings.warehouse, read_only=True) as con:
            return con.execute(sql).fetchall()
