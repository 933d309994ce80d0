"""Jira nodes: issues and comments through the Jira Cloud REST API v3 (``httpx``)."""
