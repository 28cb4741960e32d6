-- hhcast: key=closing_date
-- Unscheduled work items of the studied fleet, counted the way the business counts them.
-- Rules (all from hhcast.yaml `filters`): studied aircraft type only; crew reports and
-- administrative entries out; executed HH of zero falls back to planned; a row repeated by
-- overlapping exports counts as often as the one file holding it most often.
{% from "count_once_across_files.sql" import count_once_across_files %}
with source as (
    select * from raw.unscheduled_events
),

maintenance_findings as (
    select *
    from source
    where upper(aircraft_type) = upper({{ filters.aircraft_type | sql }})
      and upper(sign) not in {{ filters.excluded_signs | upper_list | sql }}
      and upper(coalesce(ata_description, '')) not in {{ filters.excluded_ata_descriptions | upper_list | sql }}
),

typed as (
    -- HH as exact decimals (to 1e-9 h): the two layouts write the same duration
    -- differently, and exact sums make every rebuild give identical totals
    select
        closing_date,
        registration,
        sign,
        issue_station,
        ata,
        ata_description,
        cast(round(hh_planned, 9) as decimal(18, 9)) as hh_planned,
        cast(round(hh_executed, 9) as decimal(18, 9)) as hh_executed,
        source_file
    from maintenance_findings
),

{{ count_once_across_files("typed") }},

final as (
    select
        closing_date,
        registration,
        sign,
        issue_station,
        ata,
        ata_description,
        hh_planned,
        hh_executed,
        case
            when hh_executed = 0 and {{ filters.executed_zero_falls_back_to_planned | sql }}
                then coalesce(hh_planned, 0)
            else hh_executed
        end as hh,
        source_file,
        unnest(range(copies)) as copy_index
    from deduplicated
)

select * from final
