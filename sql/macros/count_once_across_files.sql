{#
A row repeated by overlapping exports counts as often as the one file holding it most often.
CTEs over `relation`, which has a `source_file` column: `deduplicated` keeps every other
column, the most copies one file holds (`copies`) and the first file holding them
(`source_file`).

One grouping does it, on file numbers rather than file names (a string aggregate over
millions of rows cost as much as the grouping itself): each distinct row gets its copies in
all files, its first and last file, and the list of files its copies came from. Nearly every
row is in one file (all its copies are that file's) or in two files once each; only the few
others count their copies file by file. Files are numbered in name order from the ingestion
log; a raw row from a file the log does not know stops the build (it would otherwise have no
number and be dropped).
#}
{% macro count_once_across_files(relation) -%}
file_numbers as (
    select
        uri as source_file,
        row_number() over (order by uri) as file_number
    from (select distinct uri from meta.ingested_files)
),

numbered as (
    select
        rows.* exclude (source_file),
        case
            when file_numbers.file_number is null then error(
                'raw row from ' || rows.source_file || ' has no entry in meta.ingested_files; '
                || 'load raw files with hhcast ingest, which records them'
            )
            else file_numbers.file_number
        end as file_number
    from {{ relation }} as rows
    left join file_numbers using (source_file)
),

copies_in_files as (
    select
        * exclude (file_number),
        count(*) as copies_in_all_files,
        min(file_number) as first_file,
        max(file_number) as last_file,
        list(file_number) as files
    from numbered
    group by all
),

deduplicated as (
    select
        copies_in_files.* exclude (copies_in_all_files, first_file, last_file, files),
        case
            when first_file = last_file then copies_in_all_files
            when copies_in_all_files = 2 then 1
            else list_max(
                list_transform(
                    list_distinct(files), lambda file: len(list_filter(files, lambda f: f = file))
                )
            )
        end as copies,
        file_numbers.source_file
    from copies_in_files
    inner join file_numbers on file_numbers.file_number = copies_in_files.first_file
)
{%- endmacro %}
