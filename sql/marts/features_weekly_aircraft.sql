-- hhcast: materialized=incremental key=week_start
-- One row per aircraft and calendar week: its utilisation, age and unscheduled HH.
with daily as (
    select * from intermediate.int_aircraft_daily
    {% if is_incremental %}
    where day between {{ window_start }} and {{ window_end }}
    {% endif %}
),

final as (
    select
        {{ week_start("day") }} as week_start,
        registration,
        count(*) as aircraft_days,
        sum(flights)::bigint as flights,
        sum(block_hours) as block_hours,
        sum(cycles)::bigint as cycles,
        sum(tah) as age,
        sum(hh) as hh,
        sum(work_items)::bigint as work_items,
        count(*) filter (where not has_utilization) as aircraft_days_without_utilization,
        coalesce(sum(hh) filter (where not has_utilization), 0) as hh_without_utilization
    from daily
    group by all
)

select * from final
