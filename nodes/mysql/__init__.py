"""MySQL and MariaDB nodes: run queries and insert, update, upsert, delete or select rows."""
