-- Planned days of the studied fleet, each from the issue in force on that day
-- (staging.stg_flight_plan_days): placeholder rows out, studied aircraft type only, exact
-- decimal hours as in staging.stg_aircraft_utilization. Each row names its issue.
with source as (
    select * from raw.flight_plan
),

planned_days as (
    select source.*
    from source
    join staging.stg_flight_plan_days as in_force
        on in_force.dep_date = source.dep_date
        and in_force.plan_file = source.source_file
    where not source.is_placeholder
      and upper(source.aircraft_type) = upper({{ filters.aircraft_type | sql }})
),

final as (
    select
        dep_date,
        registration,
        flights,
        -- exact decimals, so every rebuild sums to identical totals
        cast(round(block_hours, 9) as decimal(18, 9)) as block_hours,
        cycles,
        plan_issued_at,
        source_file as plan_file,
        source_row
    from planned_days
)

select * from final
