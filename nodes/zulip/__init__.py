"""Zulip nodes: messages through Zulip's REST API (``httpx``)."""
