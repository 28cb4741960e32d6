"""hhcast: forecast weekly unscheduled-maintenance man-hours from fleet utilisation."""
