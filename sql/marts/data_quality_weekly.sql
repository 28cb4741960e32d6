-- hhcast: materialized=incremental key=week_start
-- How much of each week's HH was closed on aircraft-days with no utilisation row. The full
-- outer join keeps that HH (with zero hours); this table says how much there is.
with aircraft_weeks as (
    select * from marts.features_weekly_aircraft
    {% if is_incremental %}
    where week_start between {{ window_start }} and {{ window_end }}
    {% endif %}
),

final as (
    select
        week_start,
        sum(aircraft_days)::bigint as aircraft_days,
        sum(aircraft_days_without_utilization)::bigint as aircraft_days_without_utilization,
        sum(hh)::double as hh,
        sum(hh_without_utilization)::double as hh_without_utilization,
        coalesce(sum(hh_without_utilization) / nullif(sum(hh), 0), 0) as share_hh_without_utilization
    from aircraft_weeks
    group by week_start
    order by week_start
)

select * from final
