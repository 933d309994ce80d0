"""Mattermost nodes: posts and reactions through the Mattermost REST API v4 (``httpx``)."""
