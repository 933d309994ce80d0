"""Mailgun nodes: sending email and reading a domain's events through Mailgun's v3 API (``httpx``)."""
