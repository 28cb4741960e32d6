-- Meta layer: what hhcast was handed, what it did with it, and every row it refused.
create schema if not exists meta;

create table if not exists meta.ingested_files (
    uri              varchar not null,
    sha256           varchar not null,
    bytes            bigint not null,
    source           varchar,      -- unscheduled_events | aircraft_utilization
    layout           varchar,
    rows_read        integer not null,
    rows_loaded      integer not null,
    rows_quarantined integer not null,
    status           varchar not null
        check (status in ('loaded', 'rejected', 'skipped_duplicate', 'superseded')),
    error            varchar,      -- what went wrong and what to do, for a person
    archive_uri      varchar,      -- the unchanged copy in the lake
    ingested_at      timestamptz not null,
    primary key (uri, sha256)
);

create table if not exists meta.quarantine (
    source_file   varchar not null,
    source_sha256 varchar not null,
    source_row    integer not null,
    column_name   varchar,
    check_name    varchar not null,
    raw_value     varchar,
    ingested_at   timestamptz not null
);
