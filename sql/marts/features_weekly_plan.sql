-- hhcast: materialized=table
-- The weekly features of the coming weeks, from the flight plans: one row per calendar week
-- after the last complete week of marts.features_weekly, up to the last week the newest plan
-- issue plans. The features of marts.features_weekly, by the same macros
-- (sql/macros/weekly_features.sql), over the planned days (each from the issue in force on
-- it, staging.stg_flight_plan_days) instead of the flown ones; no hh, which is what a model
-- forecasts from them. A few weeks: rebuilt whole at every build.
--   TAH is projected: an aircraft's last actual TAH before the first planned week plus its
--   planned block hours up to and including the day (from 0 for an aircraft with no actual
--   utilisation, entering service).
--   sum_uti_mensal: the week's month, actual days up to the last day flown, planned after.
--   History features read actual weeks only (up to the last complete one): at horizon h a
--   lag shorter than h would read a planned week, so it is null; a trailing mean averages
--   the actual weeks of its span (null when there are none).
{% from "weekly_features.sql" import
    aircraft_week_totals, weekly_totals, monthly_block_hours, week_month, history_features,
    feature_columns
    with context %}
with actual_weeks as (
    select
        week_start,
        is_complete
    from marts.features_weekly
),

actual_edge as (
    -- aggregates, not top-1 queries (DuckDB 2.0's top-N pruner, see features_weekly.sql)
    select max(week_start) filter (where is_complete) as last_complete_week
    from actual_weeks
),

last_flown as (
    select max(day) filter (where has_utilization) as day
    from intermediate.int_aircraft_daily
),

plan_days as (
    select * from staging.stg_flight_plan_days
),

plan_span as (
    -- the week after the last complete actual week (without one, the newest issue's first
    -- week) to the newest issue's last week
    select
        coalesce(
            actual_edge.last_complete_week + interval 7 day,
            {{ week_start("min(plan_days.dep_date) filter (where plan_days.is_latest_issue)") }}
        )::date as first_week,
        {{ week_start("max(plan_days.dep_date) filter (where plan_days.is_latest_issue)") }}
            as last_week,
        actual_edge.last_complete_week
    from plan_days
    cross join actual_edge
    group by actual_edge.last_complete_week
),

weeks as (
    select unnest(generate_series(first_week, last_week, interval 7 day))::date as week_start
    from plan_span
),

planned_daily as (
    -- one row per aircraft and planned day of those weeks, as intermediate.int_aircraft_daily
    -- has per day flown
    select
        plan.dep_date as day,
        plan.registration,
        sum(plan.flights) as flights,
        sum(plan.block_hours) as block_hours,
        sum(plan.cycles) as cycles
    from staging.stg_flight_plan as plan
    cross join plan_span
    where plan.dep_date between plan_span.first_week and plan_span.last_week + interval 6 day
    group by plan.dep_date, plan.registration
),

tah_before_plan as (
    -- each aircraft's total hours on its last day of actual utilisation before the plan
    select
        daily.registration,
        arg_max(daily.tah, daily.day) as tah
    from intermediate.int_aircraft_daily as daily
    cross join plan_span
    where daily.tah is not null
      and daily.day < plan_span.first_week
    group by daily.registration
),

planned_aircraft_days as (
    select
        planned_daily.*,
        coalesce(tah_before_plan.tah, 0) + sum(planned_daily.block_hours) over (
            partition by planned_daily.registration
            order by planned_daily.day
            rows between unbounded preceding and current row
        ) as tah
    from planned_daily
    left join tah_before_plan
        on tah_before_plan.registration = planned_daily.registration
),

aircraft_weeks as (
    select
        {{ week_start("day") }} as week_start,
        registration,
        {{ aircraft_week_totals() }}
    from planned_aircraft_days
    group by all
),

planned_weeks as (
    select
        weeks.week_start,
        {{ weekly_totals("aircraft_weeks") }}
    from weeks
    left join aircraft_weeks
        on aircraft_weeks.week_start = weeks.week_start
    group by weeks.week_start
),

actual_aircraft_weeks as (
    select * from marts.features_weekly_aircraft
),

known_weeks as (
    -- the actual weeks the history features read, up to the last complete one, summed from
    -- the aircraft-weeks marts.features_weekly sums: the very same decimals
    select
        actual_weeks.week_start,
        {{ weekly_totals("actual_aircraft_weeks") }},
        coalesce(sum(actual_aircraft_weeks.hh), 0) as hh
    from actual_weeks
    cross join plan_span
    left join actual_aircraft_weeks
        on actual_aircraft_weeks.week_start = actual_weeks.week_start
    where actual_weeks.week_start <= plan_span.last_complete_week
      and actual_weeks.week_start
          >= plan_span.first_week - interval {{ features.lookback_weeks }} week
    group by actual_weeks.week_start
),

timeline as (
    -- actual weeks, then planned ones, whose HH and block hours are not known yet
    select
        week_start,
        hh as known_hh,
        sum_daily_hours as known_hours
    from known_weeks
    union all
    select
        week_start,
        null,
        null
    from planned_weeks
),

history as (
    select
        week_start,
        {{ history_features("known_hh", "known_hours") }}
    from timeline
    window by_week as (order by week_start)
),

month_days as (
    -- the block hours of the planned weeks' months: actual days up to the last day flown,
    -- planned days after it
    select
        daily.day,
        daily.block_hours
    from intermediate.int_aircraft_daily as daily
    cross join plan_span
    cross join last_flown
    where daily.day >= {{ week_month("plan_span.first_week") }}
      and daily.day <= last_flown.day
    union all
    select
        plan.dep_date,
        plan.block_hours
    from staging.stg_flight_plan as plan
    cross join plan_span
    cross join last_flown
    where plan.dep_date >= {{ week_month("plan_span.first_week") }}
      and (plan.dep_date > last_flown.day or last_flown.day is null)
),

monthly_hours as (
    {{ monthly_block_hours("month_days") }}
),

known_days as (
    -- the days whose block hours are known or planned: every day up to the last flown, and
    -- every day an issue plans after it
    select unnest(generate_series(
        {{ week_month("plan_span.first_week") }}::date, last_flown.day, interval 1 day
    ))::date as day
    from plan_span
    cross join last_flown
    union
    select dep_date
    from plan_days
),

month_coverage as (
    select
        date_trunc('month', day)::date as month,
        count(*) as known_days
    from known_days
    group by all
),

issue_weeks as (
    -- how many of each week's days each issue plans
    select
        {{ week_start("dep_date") }} as week_start,
        plan_file,
        plan_issued_at,
        count(*) as days
    from plan_days
    group by all
),

week_issues as (
    -- a week is named by the issue in force on most of its days; of two on as many, the newer
    select
        week_start,
        sum(days) over (partition by week_start) as planned_days,
        count(*) over (partition by week_start) as plan_issues,
        plan_issued_at,
        plan_file
    from issue_weeks
    qualify row_number() over (
        partition by week_start
        order by days desc, plan_issued_at desc, plan_file desc
    ) = 1
),

with_history as (
    select
        planned_weeks.*,
        coalesce(monthly_hours.block_hours, 0) as sum_uti_mensal,
        history.* exclude (week_start),
        coalesce(month_coverage.known_days, 0) as month_known_days,
        dayofmonth(last_day({{ week_month("planned_weeks.week_start") }})) as month_days,
        (planned_weeks.week_start - plan_span.first_week) // 7 + 1 as horizon_weeks,
        coalesce(week_issues.planned_days, 0) as planned_days,
        coalesce(week_issues.plan_issues, 0) as plan_issues,
        week_issues.plan_issued_at,
        week_issues.plan_file
    from planned_weeks
    cross join plan_span
    join history
        on history.week_start = planned_weeks.week_start
    left join monthly_hours
        on monthly_hours.month = {{ week_month("planned_weeks.week_start") }}
    left join month_coverage
        on month_coverage.month = {{ week_month("planned_weeks.week_start") }}
    left join week_issues
        on week_issues.week_start = planned_weeks.week_start
),

final as (
    select
        {{ feature_columns(target=false) }},
        horizon_weeks::integer as horizon_weeks,
        planned_days::integer as planned_days,
        -- days of the week's month whose block hours sum_uti_mensal holds (flown or planned)
        month_known_days::integer as month_known_days,
        plan_issues::integer as plan_issues,
        plan_issued_at,
        plan_file,
        -- complete: all seven days planned, every day of its month (sum_uti_mensal) flown or
        -- planned, and enough aircraft-days to be a real week of operation
        (
            planned_days = 7
            and month_known_days = month_days
            and acft >= {{ features.min_aircraft_days }}
        ) as is_complete
    from with_history
)

select * from final
order by week_start
