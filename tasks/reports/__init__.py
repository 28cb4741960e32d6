"""The report with charts: forecasts against actuals, errors, drift and champions."""
