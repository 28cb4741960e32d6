-- hhcast: key=dep_date
-- Flying days of the studied fleet: placeholder rows out, studied aircraft type only, and a
-- row repeated by overlapping exports counted as often as the one file holding it most often.
{% from "count_once_across_files.sql" import count_once_across_files %}
with source as (
    select * from raw.aircraft_utilization
),

flying_days as (
    select *
    from source
    where not is_placeholder
      and upper(aircraft_type) = upper({{ filters.aircraft_type | sql }})
),

typed as (
    select
        dep_date,
        registration,
        flights,
        -- exact decimals, so every rebuild sums to identical totals
        cast(round(block_hours, 9) as decimal(18, 9)) as block_hours,
        cycles,
        cast(round(tah, 9) as decimal(18, 9)) as tah,
        tac,
        source_file
    from flying_days
),

{{ count_once_across_files("typed") }},

final as (
    select
        dep_date,
        registration,
        flights,
        block_hours,
        cycles,
        tah,
        tac,
        source_file,
        unnest(range(copies)) as copy_index
    from deduplicated
)

select * from final
