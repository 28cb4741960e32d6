"""The steps of the flows, grouped by concern; pure functions under thin Prefect tasks."""
