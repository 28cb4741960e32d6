{#
A row repeated by overlapping exports counts as often as the one file holding it most often.
Two CTEs over `relation`, which has a `source_file` column: `copies_per_file` counts each
row's copies in each file; `deduplicated` keeps every other column, the most copies one file
holds (`copies`) and the first file holding them (`source_file`).
#}
{% macro count_once_across_files(relation) -%}
copies_per_file as (
    select
        *,
        count(*) as copies
    from {{ relation }}
    group by all
),

deduplicated as (
    select
        * exclude (copies, source_file),
        max(copies) as copies,
        min(source_file) as source_file
    from copies_per_file
    group by all
)
{%- endmacro %}
