-- hhcast: materialized=incremental key=week_start
-- The weekly training table: one row per calendar week from the first to the last week of
-- data (weeks without rows included, with zeros), DOMAIN.md's features, history features
-- that only look back, and whether the week is complete enough to train on.
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

monthly_hours as (
    select
        date_trunc('month', day)::date as month,
        sum(block_hours) as block_hours
    from intermediate.int_aircraft_daily
    {% if is_incremental %}
    -- only the window's weeks show it (the lookback weeks feed lags of hh and hours alone)
    where day between date_trunc('month', {{ window_start }}) and {{ window_end }} + interval 31 day
    {% endif %}
    group by all
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
        count(aircraft_weeks.registration) as n_aircraft,
        coalesce(sum(aircraft_weeks.aircraft_days), 0) as acft,
        coalesce(sum(aircraft_weeks.block_hours), 0) as sum_daily_hours,
        coalesce(sum(aircraft_weeks.age), 0) as age_fleet,
        coalesce(sum(aircraft_weeks.cycles), 0) as cycles,
        coalesce(sum(aircraft_weeks.flights), 0) as flights,
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
        -- a week belongs to the month holding its fourth day (ISO 8601's rule for years)
        coalesce(monthly_hours.block_hours, 0) as sum_uti_mensal,
        {% for lag in features.hh_lags %}
        lag(hh, {{ lag }}) over by_week as hh_lag_{{ lag }},
        {% endfor %}
        {% for span in features.rolling_weeks %}
        avg(hh) over (by_week rows between {{ span }} preceding and 1 preceding) as hh_rolling_{{ span }},
        avg(sum_daily_hours) over (by_week rows between {{ span }} preceding and 1 preceding)
            as hours_rolling_{{ span }},
        {% endfor %}
        lag(sum_daily_hours, 1) over by_week as hours_lag_1
    from weekly
    left join monthly_hours
        on monthly_hours.month = date_trunc('month', weekly.week_start + interval 3 day)
    window by_week as (order by weekly.week_start)
),

final as (
    select
        -- sums were exact decimals (to 1e-9 h); the table hands models doubles, to the 1e-6 h
        week_start,
        weekofyear(week_start + interval 3 day) as week_of_year,
        acft::bigint as acft,
        round(sum_daily_hours, 6)::double as sum_daily_hours,
        round(age_fleet, 6)::double as age_fleet,
        cycles::bigint as cycles,
        round(sum_uti_mensal, 6)::double as sum_uti_mensal,
        round(hh, 6)::double as hh,
        n_aircraft::bigint as n_aircraft,
        flights::bigint as flights,
        {% for lag in features.hh_lags %}
        hh_lag_{{ lag }}::double as hh_lag_{{ lag }},
        {% endfor %}
        {% for span in features.rolling_weeks %}
        hh_rolling_{{ span }}::double as hh_rolling_{{ span }},
        hours_rolling_{{ span }}::double as hours_rolling_{{ span }},
        {% endfor %}
        hours_lag_1::double as hours_lag_1,
        -- complete: all seven days and the whole month of sum_uti_mensal inside the covered
        -- span, and enough aircraft-days to be a real week of operation
        (
            week_start >= coverage.first_day
            and week_start + interval 6 day <= coverage.last_day
            and last_day(week_start + interval 3 day) <= coverage.last_day
            and date_trunc('month', week_start + interval 3 day) >= coverage.first_day
            and acft >= {{ features.min_aircraft_days }}
        ) as is_complete
    from with_history
    cross join coverage
    {% if is_incremental %}
    where week_start between {{ window_start }} and {{ window_end }}
    {% endif %}
)

select * from final
