-- The planned weeks start right after the last complete actual week, horizon 1 first, and a
-- week the plan names has the issue it names: planned weeks and actual ones never overlap.
with actual_edge as (
    select max(week_start) filter (where is_complete) as last_complete_week
    from marts.features_weekly
),

final as (
    select
        plan.week_start,
        plan.horizon_weeks,
        actual_edge.last_complete_week
    from marts.features_weekly_plan as plan
    cross join actual_edge
    where (
        actual_edge.last_complete_week is not null
        and plan.week_start <> actual_edge.last_complete_week + plan.horizon_weeks * interval 7 day
    )
    or (plan.planned_days > 0 and plan.plan_file is null)
)

select * from final
