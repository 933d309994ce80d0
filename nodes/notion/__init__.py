"""Notion nodes: databases, pages and blocks through the Notion API (``httpx``)."""
