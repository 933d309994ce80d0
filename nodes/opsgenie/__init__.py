"""Opsgenie nodes: alerts through the Opsgenie Alert API v2 (``httpx``)."""
