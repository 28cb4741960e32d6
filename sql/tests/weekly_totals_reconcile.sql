-- The weekly table loses nothing: its HH, block hours and cycles add up to what staging
-- accepted (relative tolerance 1e-9, for floating-point sums in another order). An
-- incremental build checks the weeks it rebuilt.
with staged as (
    select
        (
            select coalesce(sum(hh), 0) from staging.stg_unscheduled_events
            {% if is_incremental %}
            where closing_date between {{ window_start }} and {{ window_end }}
            {% endif %}
        ) as hh,
        (
            select coalesce(sum(block_hours), 0) from staging.stg_aircraft_utilization
            {% if is_incremental %}
            where dep_date between {{ window_start }} and {{ window_end }}
            {% endif %}
        ) as block_hours,
        (
            select coalesce(sum(cycles), 0) from staging.stg_aircraft_utilization
            {% if is_incremental %}
            where dep_date between {{ window_start }} and {{ window_end }}
            {% endif %}
        ) as cycles
),

weekly as (
    select
        coalesce(sum(hh), 0) as hh,
        coalesce(sum(sum_daily_hours), 0) as block_hours,
        coalesce(sum(cycles), 0) as cycles
    from marts.features_weekly
    {% if is_incremental %}
    where week_start between {{ window_start }} and {{ window_end }}
    {% endif %}
),

final as (
    select 'hh' as measure, staged.hh as staged, weekly.hh as weekly from staged, weekly
    union all
    select 'block_hours', staged.block_hours, weekly.block_hours from staged, weekly
    union all
    select 'cycles', staged.cycles, weekly.cycles from staged, weekly
)

select * from final
where abs(staged - weekly) > 1e-9 * greatest(abs(staged), 1)
