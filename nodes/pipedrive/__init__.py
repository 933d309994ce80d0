"""Pipedrive nodes: deals through Pipedrive's REST API v1 (``httpx``)."""
