-- hhcast: materialized=incremental key=week_start
-- The weekly training table: one row per calendar week from the first to the last week of
-- data (weeks without rows included, with zeros), DOMAIN.md's features, history features
-- that only look back, and whether the week is complete enough to train on. The features are
-- defined in sql/macros/weekly_features.sql, shared with marts.features_weekly_plan.
{% from "weekly_features.sql" import
    weekly_totals, monthly_block_hours, week_month, history_features, feature_columns
    with context %}
with data_span as (
    -- Aggregates, not top-1 queries: after an incremental build's delete a row group's
    -- statistics still count the deleted days, and DuckDB 2.0's top-N row-group pruner trusts
    -- them (it skipped the newer row group and gave a last day weeks too early). One scan of
    -- the day column, about 8 ms on 2 million rows.
    select
        min(day) as first_day,
        max(day) as last_day,
        max(day) filter (where has_utilization) as last_flown,
        max(day) filter (where hh > 0) as last_with_hh
    from intermediate.int_aircraft_daily
),

coverage as (
    -- the span both sources cover; a week outside it is not complete
    select
        first_day,
        least(last_flown, last_with_hh) as last_day
    from data_span
),

aircraft_weeks as (
    select * from marts.features_weekly_aircraft
    {% if is_incremental %}
    where week_start between {{ lookback_start }} and {{ window_end }}
    {% endif %}
),

month_days as (
    select
        day,
        block_hours
    from intermediate.int_aircraft_daily
    {% if is_incremental %}
    -- only the window's weeks show it (the lookback weeks feed lags of hh and hours alone)
    where day between date_trunc('month', {{ window_start }}) and {{ window_end }} + interval 31 day
    {% endif %}
),

monthly_hours as (
    {{ monthly_block_hours("month_days") }}
),

weeks as (
    select unnest(generate_series(
        {{ week_start("first_day") }},
        {{ week_start("last_day") }},
        interval 7 day
    ))::date as week_start
    from data_span
),

weekly as (
    select
        weeks.week_start,
        {{ weekly_totals("aircraft_weeks") }},
        coalesce(sum(aircraft_weeks.hh), 0) as hh
    from weeks
    left join aircraft_weeks
        on aircraft_weeks.week_start = weeks.week_start
    {% if is_incremental %}
    where weeks.week_start between {{ lookback_start }} and {{ window_end }}
    {% endif %}
    group by weeks.week_start
),

with_history as (
    select
        weekly.*,
        coalesce(monthly_hours.block_hours, 0) as sum_uti_mensal,
        {{ history_features("hh", "sum_daily_hours") }}
    from weekly
    left join monthly_hours
        on monthly_hours.month = {{ week_month("weekly.week_start") }}
    window by_week as (order by weekly.week_start)
),

final as (
    select
        {{ feature_columns(target=true) }},
        -- complete: all seven days and the whole month of sum_uti_mensal inside the covered
        -- span, and enough aircraft-days to be a real week of operation
        (
            week_start >= coverage.first_day
            and week_start + interval 6 day <= coverage.last_day
            and last_day({{ week_month("week_start") }}) <= coverage.last_day
            and {{ week_month("week_start") }} >= coverage.first_day
            and acft >= {{ features.min_aircraft_days }}
        ) as is_complete
    from with_history
    cross join coverage
    {% if is_incremental %}
    where week_start between {{ window_start }} and {{ window_end }}
    {% endif %}
)

select * from final
