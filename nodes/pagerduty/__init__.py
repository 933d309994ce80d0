"""PagerDuty nodes: incidents through the REST API v2 and alerts through the Events API v2 (``httpx``)."""
