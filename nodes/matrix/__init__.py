"""Matrix nodes: room messages through the Matrix Client-Server API (``httpx``)."""
