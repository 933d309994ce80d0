"""Trello nodes: cards through the Trello REST API (``httpx``)."""
