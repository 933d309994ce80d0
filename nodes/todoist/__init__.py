"""Todoist nodes: tasks through the Todoist API v1 (``httpx``)."""
