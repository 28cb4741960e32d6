"""Earlier forecasts against the actuals: which weeks can be scored now, and their errors.

A forecast week is scored once marts.features_weekly holds it as complete, and only once.
What-if forecasts are never scored.
"""

from __future__ import annotations

import duckdb
import polars as pl

WHAT_IF = "what-if"


def unscored(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Forecast weeks whose actuals are complete now and that no monitor run scored yet."""
    return con.sql(
        """
        select
            p.forecast_id,
            p.week_start,
            p.model_id,
            p.plan_file,
            p.plan_issued_at,
            p.horizon_weeks,
            a.hh as hh_actual,
            p.hh_pred,
            p.hh_pred - a.hh as error,
            abs(p.hh_pred - a.hh) as abs_error,
            a.hh between p.hh_lower_80 and p.hh_upper_80 as in_80,
            a.hh between p.hh_lower_95 and p.hh_upper_95 as in_95
        from ml.predictions p
        join marts.features_weekly a on a.week_start = p.week_start and a.is_complete
        where p.plan_file <> ?
          and not exists (
            select 1 from ml.forecast_errors e
            where e.forecast_id = p.forecast_id and e.week_start = p.week_start
          )
        order by p.week_start, p.forecast_id
        """,
        params=[WHAT_IF],
    ).pl()


def actual_weeks(con: duckdb.DuckDBPyConnection, weeks: list) -> pl.DataFrame:
    """The complete actual weeks of marts.features_weekly among `weeks`, every feature."""
    if not weeks:
        return pl.DataFrame()
    return con.sql(
        "select * from marts.features_weekly where is_complete and week_start in "
        "(select unnest(?::date[])) order by week_start",
        params=[weeks],
    ).pl()


def scored_weeks(con: duckdb.DuckDBPyConnection, model_id: str) -> pl.DataFrame:
    """Every scored forecast week of a model, with last year's same week for the MASE."""
    return con.sql(
        """
        select
            e.week_start,
            e.horizon_weeks,
            e.hh_actual,
            e.hh_pred,
            e.hh_nowcast,
            p.hh_lower_80,
            p.hh_upper_80,
            p.hh_lower_95,
            p.hh_upper_95,
            a.hh_lag_52 as hh_seasonal_naive
        from ml.forecast_errors e
        join ml.predictions p using (forecast_id, week_start)
        join marts.features_weekly a using (week_start)
        where e.model_id = ?
        order by e.week_start
        """,
        params=[model_id],
    ).pl()
