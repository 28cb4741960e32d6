-- Views over the ml tables, for people: created again on each writer's connection, so a
-- changed definition reaches an existing warehouse.

-- The forecast ledger: every forecast week (what-if ones aside) with the champion that made
-- it, who had made it champion and why, its prediction and intervals (and whose errors they
-- stand on: the model's backtest, or its own monitored forecasts), and, once the week is
-- complete, the actual, the error and the drift the monitor run that scored it measured.
-- "What was champion on date X, and how did it do?":
--   select * from ml.forecast_ledger where made_at::date = 'X' order by week_start
create or replace view ml.forecast_ledger as
with became_champion as (
    -- each time a model became champion: when, how, by whom, why
    select
        champion_after as model_id,
        decided_at,
        action,
        policy,
        decided_by,
        note
    from ml.promotions
    where action in ('bootstrap', 'promote', 'rollback')
),

forecasts as (
    select *
    from ml.predictions
    where plan_file <> 'what-if'
),

drift_by_run as (
    -- the worst status over the features, on the latest complete weeks of that monitor run
    select
        monitor_run_id,
        max(case status when 'alert' then 2 when 'warn' then 1 else 0 end) as level,
        string_agg(feature || ' ' || status, ', ' order by feature)
            filter (where status <> 'ok') as drifted_features
    from ml.drift_history
    where window_name = 'last_13_weeks'
    group by monitor_run_id
),

final as (
    select
        f.week_start,
        f.horizon_weeks,
        f.made_at,
        f.forecast_id,
        f.model_id,
        m.algorithm,
        c.decided_at as champion_since,
        c.action as became_champion_by,
        c.policy as promotion_policy,
        c.decided_by as promoted_by,
        c.note as promotion_note,
        f.dataset_version,
        f.plan_file,
        f.plan_issued_at,
        f.hh_pred,
        f.hh_lower_80,
        f.hh_upper_80,
        f.hh_lower_95,
        f.hh_upper_95,
        f.interval_source,
        e.hh_actual,
        e.error,
        e.abs_error,
        e.in_80,
        e.in_95,
        e.hh_nowcast,
        e.nowcast_error,
        e.scored_at,
        case d.level when 2 then 'alert' when 1 then 'warn' when 0 then 'ok' end as drift_status,
        d.drifted_features
    from forecasts f
    join ml.models m
        on m.model_id = f.model_id
    asof left join became_champion c
        on c.model_id = f.model_id
        and f.made_at >= c.decided_at
    left join ml.forecast_errors e
        on e.forecast_id = f.forecast_id
        and e.week_start = f.week_start
    left join drift_by_run d
        on d.monitor_run_id = e.monitor_run_id
)

select * from final;
