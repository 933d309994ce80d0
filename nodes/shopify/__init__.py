"""Shopify nodes: orders and products through the Shopify Admin REST API (``httpx``)."""
