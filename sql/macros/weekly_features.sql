{#
The weekly features, defined once: marts.features_weekly computes them from the days flown,
marts.features_weekly_plan from the days planned, both through these macros, so the two
cannot drift apart. The path is the same in both:

  aircraft-days (day, registration, flights, block_hours, cycles, tah)
    -> aircraft-weeks   aircraft_week_totals()        (per week_start and registration)
    -> weeks            weekly_totals(aircraft_weeks) (a spine of weeks left joined to them)
    -> history          history_features(hh, hours)   (over `window by_week`)
    -> the table        feature_columns(target)       (names, types and rounding)

plus the month a week belongs to (week_month) and its block hours (monthly_block_hours).
Sums stay exact decimals (to 1e-9 h) until feature_columns rounds them to 1e-6 h as doubles,
so the same days give the same bits whichever mart adds them up.
#}

{# The month a week belongs to: the one holding its fourth day (ISO 8601's rule for years). #}
{% macro week_month(week_start_column) -%}
date_trunc('month', {{ week_start_column }} + interval 3 day)
{%- endmacro %}

{# One aircraft's week: the columns of a `group by` week and registration over its days. #}
{% macro aircraft_week_totals() -%}
count(*) as aircraft_days,
        sum(flights)::bigint as flights,
        sum(block_hours) as block_hours,
        sum(cycles)::bigint as cycles,
        sum(tah) as age
{%- endmacro %}

{# A week's fleet: the columns of a `group by` week over a spine of weeks left joined to
   `aircraft_weeks`; a week with none of them counts zeros. #}
{% macro weekly_totals(aircraft_weeks) -%}
count({{ aircraft_weeks }}.registration) as n_aircraft,
        coalesce(sum({{ aircraft_weeks }}.aircraft_days), 0) as acft,
        coalesce(sum({{ aircraft_weeks }}.block_hours), 0) as sum_daily_hours,
        coalesce(sum({{ aircraft_weeks }}.age), 0) as age_fleet,
        coalesce(sum({{ aircraft_weeks }}.cycles), 0) as cycles,
        coalesce(sum({{ aircraft_weeks }}.flights), 0) as flights
{%- endmacro %}

{# Block hours per calendar month of `daily`, a relation of (day, block_hours) rows. #}
{% macro monthly_block_hours(daily) -%}
select
        date_trunc('month', day)::date as month,
        sum(block_hours) as block_hours
    from {{ daily }}
    group by all
{%- endmacro %}

{# The history features of a week, looking back only: lags and trailing means of the weekly
   HH (`hh`) and block hours (`hours`) of the weeks before it, over `window by_week` (every
   week, in order). A week whose value is not known has them null: a lag reading it is null,
   and a trailing mean averages the known weeks of its span. #}
{% macro history_features(hh, hours) -%}
{% for lag in features.hh_lags %}
        lag({{ hh }}, {{ lag }}) over by_week as hh_lag_{{ lag }},
        {% endfor %}
        {% for span in features.rolling_weeks %}
        avg({{ hh }}) over (by_week rows between {{ span }} preceding and 1 preceding) as hh_rolling_{{ span }},
        avg({{ hours }}) over (by_week rows between {{ span }} preceding and 1 preceding)
            as hours_rolling_{{ span }},
        {% endfor %}
        lag({{ hours }}, 1) over by_week as hours_lag_1
{%- endmacro %}

{# The features as the tables hold them, in their order: sums were exact decimals (to 1e-9
   h), models get doubles to 1e-6 h. `target` adds the week's HH after sum_uti_mensal. #}
{% macro feature_columns(target=true) -%}
week_start,
        weekofyear(week_start + interval 3 day) as week_of_year,
        acft::bigint as acft,
        round(sum_daily_hours, 6)::double as sum_daily_hours,
        round(age_fleet, 6)::double as age_fleet,
        cycles::bigint as cycles,
        round(sum_uti_mensal, 6)::double as sum_uti_mensal,
        {% if target %}
        round(hh, 6)::double as hh,
        {% endif %}
        n_aircraft::bigint as n_aircraft,
        flights::bigint as flights,
        {% for lag in features.hh_lags %}
        hh_lag_{{ lag }}::double as hh_lag_{{ lag }},
        {% endfor %}
        {% for span in features.rolling_weeks %}
        hh_rolling_{{ span }}::double as hh_rolling_{{ span }},
        hours_rolling_{{ span }}::double as hours_rolling_{{ span }},
        {% endfor %}
        hours_lag_1::double as hours_lag_1
{%- endmacro %}
