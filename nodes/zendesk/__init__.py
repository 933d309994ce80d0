"""Zendesk nodes: Support tickets through the Zendesk REST API v2 (``httpx``)."""
