"""Intercom nodes: contacts (users and leads) through the Intercom REST API (``httpx``)."""
