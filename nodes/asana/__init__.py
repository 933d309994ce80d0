"""Asana nodes: tasks, their comments and sections through the Asana REST API 1.0 (``httpx``)."""
