"""Linear nodes: issues through Linear's GraphQL API (``httpx``)."""
