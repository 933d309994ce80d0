"""PostgreSQL nodes: run queries and insert, update, upsert or select rows."""
