-- ML layer: every trained model, how it scored on time, and every promotion decision.
create schema if not exists ml;

-- The registry: one row per trained model. Exactly one row has status 'champion' once the
-- first training has run, and at most one 'challenger' (the latest run's pick: registering a
-- run makes the earlier one a 'candidate'); tasks/registry.py changes statuses only inside
-- one transaction.
create table if not exists ml.models (
    model_id        varchar primary key,
    run_id          varchar not null,     -- the training flow run
    candidate       varchar not null,     -- its name in hhcast.yaml (training.candidates)
    algorithm       varchar not null,     -- naive | linear | tree | mlp
    features        json not null,        -- input columns, in order
    hyperparameters json not null,
    seed            integer not null,
    dataset_version varchar not null,     -- meta.dataset_versions.version_id
    train_start     date not null,        -- weeks the scored fit was fitted on (before the
    train_end       date not null,        -- holdout)
    train_weeks     integer not null,
    holdout_start   date not null,        -- weeks the scored fit was scored on and never saw
    holdout_end     date not null,
    metrics         json not null,        -- holdout metrics (coverage_80/_95: the intervals'),
                                          -- and the backtest's mean and spread
    code_version    varchar not null,     -- git commit of hhcast that trained it
    artifact_uri    varchar not null,     -- the scored fit, content-addressed:
    artifact_sha256 varchar not null,     -- .../models/<sha256[:2]>/<sha256>/model.<ext>
    created_at      timestamptz not null,
    status          varchar not null
        check (status in ('candidate', 'challenger', 'champion', 'retired'))
);

-- Step 6: the production fit (the artifact that forecasts) and the prediction intervals.
-- Added by `alter`, so a warehouse made before gets them too, with nulls in its old rows:
-- forecast with the scored artifact where production_artifact_uri is null, and without an
-- interval where intervals is null (ModelRecord.forecast_artifact() and .half_width()).
alter table ml.models add column if not exists production_artifact_uri varchar;
alter table ml.models add column if not exists production_artifact_sha256 varchar;
-- every complete week of the dataset version, the holdout's included
alter table ml.models add column if not exists production_train_start date;
alter table ml.models add column if not exists production_train_end date;
alter table ml.models add column if not exists production_train_weeks integer;
-- split-conformal quantiles of |actual - forecast| on the backtest folds' weeks, per level
-- (0.8, 0.95): {"pooled": {"n", "0.8", "0.95"}, "by_horizon": {"<weeks ahead>": {...}}, ...}
alter table ml.models add column if not exists intervals json;
-- the level shifts its training rebased the history by (tasks/ml/level_shift.py):
-- [{"since": "<week>", "factor": x, "weeks_after": n, "t_stat": t}], [] for none
alter table ml.models add column if not exists level_shifts json;

-- Error of every candidate on every backtest fold and on the holdout; a champion re-scored on
-- a later run's holdout gets rows under that run.
create table if not exists ml.backtest_metrics (
    run_id      varchar not null,
    model_id    varchar not null,
    split       varchar not null check (split in ('backtest', 'holdout')),
    fold        integer,                  -- 1..k for backtest folds, null for the holdout
    train_start date,
    train_end   date,
    test_start  date not null,
    test_end    date not null,
    n_train     integer,
    n_test      integer not null,
    mae         double,
    rmse        double,
    wape        double,
    bias        double,                   -- mean of prediction - actual (> 0: over-forecast)
    r2          double
);

create table if not exists ml.holdout_predictions (
    run_id     varchar not null,
    model_id   varchar not null,
    week_start date not null,
    y_true     double not null,
    y_pred     double not null
);

-- Every decision about the champion: promotions, rejections, rollbacks, the first champion.
create table if not exists ml.promotions (
    decision_id    varchar primary key,
    decided_at     timestamptz not null,
    run_id         varchar,               -- the flow run that decided
    action         varchar not null
        check (action in ('bootstrap', 'promote', 'keep', 'rollback')),
    from_model     varchar,               -- the champion before
    to_model       varchar,               -- the model proposed (or rolled back to)
    champion_after varchar not null,      -- the champion once decided
    policy         varchar not null,      -- auto | manual | never | rollback | bootstrap
    decided_by     varchar not null,      -- 'policy', or the reviewer in the Prefect UI
    note           varchar,
    metrics        json                   -- both models' holdout metrics when decided
);
