"""ClickUp nodes: tasks of lists through the ClickUp API v2 (``httpx``)."""
