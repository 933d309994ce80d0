"""The workflow engine: pure Python, no Reflex, RQ or database."""
