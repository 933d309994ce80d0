"""Freshdesk nodes: support tickets through the Freshdesk API v2 (``httpx``)."""
