-- The weekly table loses nothing: its HH, block hours and cycles add up to what staging
-- accepted, to the 1e-6 h each weekly value is rounded to. An incremental build checks the
-- weeks it rebuilt.
with events as (
    select coalesce(sum(hh), 0) as hh
    from staging.stg_unscheduled_events
    {% if is_incremental %}
    where closing_date between {{ window_start }} and {{ window_end }}
    {% endif %}
),

flying as (
    select
        coalesce(sum(block_hours), 0) as block_hours,
        coalesce(sum(cycles), 0) as cycles
    from staging.stg_aircraft_utilization
    {% if is_incremental %}
    where dep_date between {{ window_start }} and {{ window_end }}
    {% endif %}
),

staged as (
    select
        events.hh,
        flying.block_hours,
        flying.cycles
    from events, flying
),

weekly as (
    select
        coalesce(sum(hh), 0) as hh,
        coalesce(sum(sum_daily_hours), 0) as block_hours,
        coalesce(sum(cycles), 0) as cycles,
        count(*) as weeks
    from marts.features_weekly
    {% if is_incremental %}
    where week_start between {{ window_start }} and {{ window_end }}
    {% endif %}
),

final as (
    select 'hh' as measure, staged.hh as staged, weekly.hh as weekly, weeks from staged, weekly
    union all
    select 'block_hours', staged.block_hours, weekly.block_hours, weeks from staged, weekly
    union all
    select 'cycles', staged.cycles, weekly.cycles, weeks from staged, weekly
)

select * from final
where abs(staged - weekly) > 1e-6 * greatest(weeks, 1)
