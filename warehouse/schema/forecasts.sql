-- Forecasts: what the champion said about the coming weeks, kept for monitoring to score.
create schema if not exists ml;

-- One row per forecast week. A forecast is one champion on one dataset version and one set of
-- plan issues (forecast_id hashes them): the same again adds no rows, a new plan issue or a new
-- champion is a new forecast, and old forecasts stay. What-if forecasts typed in the Prefect UI
-- have plan_file 'what-if' and are never scored by monitoring.
create table if not exists ml.predictions (
    forecast_id     varchar not null,
    run_id          varchar,              -- the flow run that made it
    model_id        varchar not null,     -- ml.models: the champion when it was made
    dataset_version varchar not null,     -- meta.dataset_versions: the actuals it stood on
    plan_file       varchar not null,     -- raw.flight_plan.source_file, or 'what-if'
    plan_issued_at  date,
    week_start      date not null,
    horizon_weeks   integer,              -- 1 = the week after the last complete actual week
    hh_pred         double not null,
    hh_lower_80     double,               -- null for a model registered without intervals
    hh_upper_80     double,
    hh_lower_95     double,
    hh_upper_95     double,
    made_at         timestamptz not null,
    primary key (forecast_id, week_start)
);
