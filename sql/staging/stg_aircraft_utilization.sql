-- hhcast: key=dep_date
-- Flying days of the studied fleet: placeholder rows out, studied aircraft type only, and a
-- row repeated by overlapping exports counted as often as the one file holding it most often.
with source as (
    select * from raw.aircraft_utilization
),

flying_days as (
    select *
    from source
    where not is_placeholder
      and upper(aircraft_type) = upper({{ filters.aircraft_type | sql }})
),

copies_per_file as (
    select
        dep_date,
        registration,
        flights,
        -- exact decimals, so every rebuild sums to identical totals
        cast(round(block_hours, 9) as decimal(18, 9)) as block_hours,
        cycles,
        cast(round(tah, 9) as decimal(18, 9)) as tah,
        tac,
        source_file,
        count(*) as copies
    from flying_days
    group by all
),

deduplicated as (
    select
        dep_date,
        registration,
        flights,
        block_hours,
        cycles,
        tah,
        tac,
        max(copies) as copies,
        min(source_file) as source_file
    from copies_per_file
    group by all
),

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
