{#
A row repeated by overlapping exports counts as often as the one file holding it most often.
CTEs over `relation`, which has a `source_file` column: `deduplicated` keeps every other
column, the most copies one file holds (`copies`) and the first file holding them, by name
(`source_file`).

One grouping does it, on a hash of each file's name rather than the name (a string
aggregate over millions of rows cost as much as the grouping itself, and numbering files by
a join cost an incremental build's small windows more than it saved): each distinct row gets
its copies in all files, its first and last file, and the list of files its copies came
from. Nearly every row is in one file (all its copies are that file's) or in two files once
each; only the few others count their copies file by file. Names come back from the
ingestion log, only where a query asks for them; a file the log does not know (rows put in
raw.* by hand) still counts, with no name. Two of a few thousand file names sharing a 64-bit
hash, the one way two files could be taken for one, has odds near 1e-13.
#}
{% macro count_once_across_files(relation) -%}
copies_in_files as (
    select
        * exclude (source_file),
        count(*) as copies_in_all_files,
        min(hash(source_file)) as first_file,
        max(hash(source_file)) as last_file,
        list(hash(source_file)) as files
    from {{ relation }}
    group by all
),

file_names as (
    select map(list(file), list(uri)) as names
    from (select distinct uri, hash(uri) as file from meta.ingested_files)
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
        case
            when first_file = last_file then names[first_file]
            else list_min(list_transform(list_distinct(files), lambda file: names[file]))
        end as source_file
    from copies_in_files, file_names
)
{%- endmacro %}
