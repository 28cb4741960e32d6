-- hhcast: materialized=incremental key=week_start
-- One row per aircraft and calendar week: its utilisation, age and unscheduled HH.
{% from "weekly_features.sql" import aircraft_week_totals %}
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
        {{ aircraft_week_totals() }},
        sum(hh) as hh,
        sum(work_items)::bigint as work_items,
        count(*) filter (where not has_utilization) as aircraft_days_without_utilization,
        coalesce(sum(hh) filter (where not has_utilization), 0) as hh_without_utilization
    from daily
    group by all
)

select * from final
