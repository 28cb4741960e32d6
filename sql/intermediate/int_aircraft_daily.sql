-- hhcast: materialized=incremental key=day
-- One row per aircraft and day it flew or had unscheduled work closed. A full outer join, so
-- HH closed on a day with no utilisation row counts (with zero hours), and so do the hours of
-- every day flown without a finding (with zero HH): nothing the sources hold disappears.
with findings as (
    select
        closing_date as day,
        registration,
        sum(hh) as hh,
        count(*) as work_items
    from staging.stg_unscheduled_events
    {% if is_incremental %}
    where closing_date between {{ window_start }} and {{ window_end }}
    {% endif %}
    group by all
),

flying as (
    select
        dep_date as day,
        registration,
        sum(flights) as flights,
        sum(block_hours) as block_hours,
        sum(cycles) as cycles,
        max(tah) as tah,
        count(*) as utilization_rows
    from staging.stg_aircraft_utilization
    {% if is_incremental %}
    where dep_date between {{ window_start }} and {{ window_end }}
    {% endif %}
    group by all
),

final as (
    select
        coalesce(flying.day, findings.day) as day,
        coalesce(flying.registration, findings.registration) as registration,
        coalesce(flying.flights, 0) as flights,
        coalesce(flying.block_hours, 0) as block_hours,
        coalesce(flying.cycles, 0) as cycles,
        flying.tah,
        coalesce(findings.hh, 0) as hh,
        coalesce(findings.work_items, 0) as work_items,
        coalesce(flying.utilization_rows, 0) as utilization_rows,
        flying.day is not null as has_utilization
    from flying
    full outer join findings
        on flying.day = findings.day
        and flying.registration = findings.registration
)

select * from final
