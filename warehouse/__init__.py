"""The DuckDB warehouse: its schema and the one module that opens connections."""
