"""GitHub nodes: issues, files, repositories and releases through the REST API (``httpx``)."""
