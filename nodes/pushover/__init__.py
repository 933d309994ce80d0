"""Pushover nodes: push notifications through Pushover's Message API (``httpx``)."""
