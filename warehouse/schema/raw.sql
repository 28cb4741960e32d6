-- Raw layer: every accepted data row of every loaded file, typed, with its lineage.
-- Business rules are NOT applied here (see sql/staging); rows are as delivered.
-- A file's content hash and archive copy are in meta.ingested_files (uri = source_file).
create schema if not exists raw;

create table if not exists raw.unscheduled_events (
    sign            varchar,
    registration    varchar,
    aircraft_type   varchar,
    issue_station   varchar,
    closing_date    date,
    ata             varchar,
    ata_description varchar,
    hh_planned      double,       -- decimal hours
    hh_executed     double,       -- decimal hours; 0 means "not booked"
    layout          varchar not null,
    source_file     varchar not null,
    source_row      integer not null,  -- row number as the spreadsheet shows it
    loaded_at       timestamptz not null
);

create table if not exists raw.aircraft_utilization (
    dep_date        date,         -- null only on placeholder rows
    registration    varchar,
    aircraft_type   varchar,
    flights         integer,
    block_hours     double,       -- decimal hours
    cycles          integer,
    tah             double,       -- total aircraft hours since new, decimal hours
    tac             bigint,       -- total aircraft cycles since new
    is_placeholder  boolean not null,
    layout          varchar not null,
    source_file     varchar not null,
    source_row      integer not null,  -- line number in the file, header = 1
    loaded_at       timestamptz not null
);
