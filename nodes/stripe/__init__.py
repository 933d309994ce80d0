"""Stripe nodes: customers, charges and refunds through Stripe's REST API (``httpx``)."""
