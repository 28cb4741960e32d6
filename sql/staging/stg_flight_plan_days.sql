-- The issue of the flight plan in force on each planned day: the newest issue whose span (its
-- first to its last planned day, of every aircraft type) covers the day. It plans that whole
-- day, so a flight a newer issue cancelled is the absence of its row, not a leftover of an
-- older issue. Every issue stays in raw.flight_plan, superseded or not.
with source as (
    select * from raw.flight_plan
    where not is_placeholder
),

issues as (
    -- one file is one issue
    select
        source_file as plan_file,
        max(plan_issued_at) as plan_issued_at,
        max(loaded_at) as loaded_at,
        min(dep_date) as first_day,
        max(dep_date) as last_day
    from source
    group by source_file
),

ranked_issues as (
    -- newest first: by issue date; of two issued the same day, the one loaded last, then the
    -- later file name
    select
        *,
        row_number() over (
            order by plan_issued_at desc nulls last, loaded_at desc, plan_file desc
        ) as newness
    from issues
),

covered_days as (
    select
        unnest(generate_series(first_day, last_day, interval 1 day))::date as dep_date,
        plan_file,
        plan_issued_at,
        first_day,
        last_day,
        newness
    from ranked_issues
),

final as (
    select
        dep_date,
        plan_issued_at,
        plan_file,
        first_day as plan_first_day,
        last_day as plan_last_day,
        newness = 1 as is_latest_issue
    from covered_days
    qualify row_number() over (partition by dep_date order by newness) = 1
)

select * from final
