"""The report's charts as Vega-Lite (altair), from the frames tasks/reports/series.py shapes.

Each function returns a chart whatever it is given: with nothing to draw, a chart saying what
is missing and how it comes, so a young warehouse still gets a whole report.
"""

from tasks.reports.charts.canvas import STATUS, WIDTH, missing
from tasks.reports.charts.champions import champion_history
from tasks.reports.charts.drift import drift_per_feature
from tasks.reports.charts.errors import error_history
from tasks.reports.charts.forecast import forecast_vs_actual

__all__ = [
    "STATUS",
    "WIDTH",
    "champion_history",
    "drift_per_feature",
    "error_history",
    "forecast_vs_actual",
    "missing",
]
