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
-- whose errors the intervals stand on: 'backtest' (the model's backtest folds) or 'monitored'
-- (its own scored forecasts of the latest weeks), and how many (added by `alter` for older files)
alter table ml.predictions add column if not exists interval_source varchar;
alter table ml.predictions add column if not exists interval_errors integer;

-- Monitoring: each earlier forecast week scored once its actuals are complete.
create table if not exists ml.forecast_errors (
    forecast_id    varchar not null,
    week_start     date not null,
    model_id       varchar not null,      -- the model that forecast it
    plan_file      varchar not null,
    plan_issued_at date,
    horizon_weeks  integer,
    hh_actual      double not null,
    hh_pred        double not null,
    error          double not null,       -- forecast - actual (> 0: over-forecast)
    abs_error      double not null,
    in_80          boolean,               -- the actual inside the 80 % interval (null: none)
    in_95          boolean,
    hh_nowcast     double,                -- the same model on the week's actual utilisation:
    nowcast_error  double,                --   its error is the model's, the rest the plan's
    monitor_run_id varchar not null,
    scored_at      timestamptz not null,
    primary key (forecast_id, week_start)
);

-- One row per monitor run: what it scored, and the degradation rule's verdict.
create table if not exists ml.monitor_runs (
    monitor_run_id varchar primary key,
    run_at         timestamptz not null,
    champion       varchar,
    weeks_scored   integer not null,
    breached       boolean not null,
    breaches       json,                  -- the conditions that breached, in words
    figures        json                   -- the rule's figures: recent MAE, limit, coverage, ...
);

-- Accuracy per monitor run, model, source and window.
create table if not exists ml.metric_history (
    monitor_run_id varchar not null,
    run_at         timestamptz not null,
    model_id       varchar not null,
    source         varchar not null check (source in ('forecast', 'nowcast')),
    window_name    varchar not null,      -- last_4_weeks, last_13_weeks, last_26_weeks, horizon_h
    n_weeks        integer not null,
    mae            double,
    rmse           double,
    wape           double,
    bias           double,
    mase           double,                -- MAE over the seasonal naive's on the same weeks
    coverage_80    double,
    coverage_95    double,
    width_80       double,
    width_95       double
);

-- Feature drift per monitor run: a window against the champion's training weeks.
create table if not exists ml.drift_history (
    monitor_run_id varchar not null,
    run_at         timestamptz not null,
    model_id       varchar not null,
    feature        varchar not null,
    window_name    varchar not null,      -- last_13_weeks | planned
    n_reference    integer not null,
    n_current      integer not null,
    psi            double,
    psi_alert      double,                -- the calibrated thresholds (see tasks/monitoring/drift.py)
    wasserstein    double,
    wasserstein_alert double,
    ks             double,
    ks_alert       double,
    status         varchar not null check (status in ('ok', 'warn', 'alert'))
);

-- Volume checks per monitor run: a window's aircraft-days and work items per week against the
-- range of the champion's training weeks (a delivery missing part of the fleet, or one loaded
-- twice, shows here first).
create table if not exists ml.volume_checks (
    monitor_run_id varchar not null,
    run_at         timestamptz not null,
    model_id       varchar not null,
    window_name    varchar not null,      -- last_13_weeks | planned
    measure        varchar not null,      -- aircraft_days | work_items
    n_weeks        integer not null,
    current_min    double,
    current_max    double,
    reference_min  double,
    reference_max  double,
    weeks_outside  integer not null,
    outside_weeks  varchar,               -- their week_start, comma-separated
    status         varchar not null check (status in ('ok', 'outside'))
);

-- Degradation alerts as spans: opened by a sustained breach, closed by the next healthy run.
create table if not exists ml.alerts (
    alert_id       varchar primary key,
    model_id       varchar not null,      -- the champion that degraded
    opened_at      timestamptz not null,
    opened_run     varchar not null,
    closed_at      timestamptz,
    closed_run     varchar,
    breaches       json not null,
    figures        json not null
);
-- why it closed: healthy again, or its champion replaced (added by `alter` for older files)
alter table ml.alerts add column if not exists closed_reason varchar;
