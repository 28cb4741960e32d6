-- The read replica's own record of what it is (only in the replica, never in the warehouse).
create schema if not exists meta;

create or replace table meta.replica (
    published_at        timestamptz not null,  -- when this copy was swapped in
    published_by        varchar not null,      -- the run that published it: ingest, transform, ...
    dataset_version     varchar,               -- the latest meta.dataset_versions row it holds
    source_file         varchar not null,      -- the warehouse it copies
    source_committed_at timestamptz not null,  -- the warehouse's last commit it holds
    code_version        varchar not null,      -- the code that published it (hhcast.version)
    checkpoint_seconds  double not null,       -- the writer's checkpoint first (closing would
                                               -- have done it anyway)
    copy_seconds        double not null,       -- then the file copy
    size_bytes          bigint not null        -- the warehouse file's bytes copied
);
