"""monday.com nodes: board items through monday.com's GraphQL API v2 (``httpx``)."""
