"""Microsoft Teams nodes: messages and Adaptive Cards through an incoming webhook or a Workflows URL (``httpx``)."""
