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

-- Flight plans: every row of every issue, superseded ones too (sql/staging/stg_flight_plan.sql
-- picks, day by day, the newest issue covering it), so a forecast stays traceable to its plan.
create table if not exists raw.flight_plan (
    dep_date         date,         -- planned day; null only on placeholder rows
    registration     varchar,
    aircraft_type    varchar,
    flights          integer,      -- planned flights that day
    block_hours      double,       -- planned block hours, decimal hours
    cycles           integer,
    is_placeholder   boolean not null,
    -- the issue's date: from the file's name by sources.flight_plan.issued_at_pattern
    -- (plan_issued_from = 'file_name'), else its earliest planned day ('first_dep_date')
    plan_issued_at   date,
    plan_issued_from varchar,
    layout           varchar not null,
    source_file      varchar not null,
    source_row       integer not null,  -- line number in the file, header = 1
    loaded_at        timestamptz not null
);
