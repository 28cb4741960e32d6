-- Meta layer: what hhcast was handed, what it did with it, and every row it refused.
create schema if not exists meta;

create table if not exists meta.ingested_files (
    uri              varchar not null,
    sha256           varchar not null,  -- '' for a skipped file, whose content was never read
    bytes            bigint not null,
    source           varchar,      -- unscheduled_events | aircraft_utilization | flight_plan
    layout           varchar,
    rows_read        integer not null,
    rows_loaded      integer not null,
    rows_quarantined integer not null,
    -- skipped: not read at all, `error` says why (a broken symlink in landing, ...)
    status           varchar not null
        check (status in ('loaded', 'rejected', 'skipped_duplicate', 'superseded', 'skipped')),
    error            varchar,      -- what went wrong and what to do, for a person
    archive_uri      varchar,      -- the unchanged copy in the lake
    modified         varchar,      -- landing's change marker when read: S3 ETag or file mtime
    first_date       date,         -- earliest day among the file's loaded rows
    last_date        date,         -- latest day among them (rebuilds recompute this span)
    ingested_at      timestamptz not null,
    primary key (uri, sha256)
);

-- Warehouses created before the date span was recorded.
alter table meta.ingested_files add column if not exists first_date date;
alter table meta.ingested_files add column if not exists last_date date;
alter table meta.ingested_files add column if not exists modified varchar;

create table if not exists meta.quarantine (
    source_file   varchar not null,
    source_sha256 varchar not null,
    source_row    integer not null,
    column_name   varchar,
    check_name    varchar not null,
    raw_value     varchar,
    ingested_at   timestamptz not null
);

-- One row per build that changed the marts: what it produced and from which files.
create table if not exists meta.dataset_versions (
    version_id    varchar primary key,  -- content address of the marts and the files covered
    built_at      timestamptz not null,
    mode          varchar not null,     -- full | incremental
    reason        varchar,
    window_start  date,                 -- the weeks an incremental build recomputed
    window_end    date,
    fingerprint   varchar not null,     -- hash of the rendered SQL models
    content_hash  varchar not null,     -- hash of every marts table's rows
    marts         json not null,        -- per table: rows and hash
    weeks         integer not null,
    first_week    date,
    last_week     date,
    coverage_end  date,                 -- last day both sources cover
    snapshot_uri  varchar               -- marts.features_weekly as built, in the lake (parquet)
);

-- What training reads of a version: its complete weeks (their hash and the last of them), so
-- a version that changed only incomplete weeks or the planned weeks is no news to training.
-- Added by `alter`: versions recorded before have nulls.
alter table meta.dataset_versions add column if not exists training_hash varchar;
alter table meta.dataset_versions add column if not exists last_complete_week date;

create table if not exists meta.dataset_version_files (
    version_id varchar not null,
    uri        varchar not null,
    sha256     varchar not null,
    primary key (version_id, uri)
);

-- Every data test of every build.
create table if not exists meta.data_test_results (
    build_id     varchar not null,
    test_name    varchar not null,
    model        varchar not null,
    status       varchar not null check (status in ('pass', 'fail', 'skipped')),
    failing_rows bigint,
    sample       json,                  -- a few failing rows
    ran_at       timestamptz not null
);
