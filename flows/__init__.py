"""Prefect flows: one module per job a person schedules or starts in the Prefect UI."""
