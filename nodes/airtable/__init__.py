"""Airtable nodes: records of a base's tables through the Airtable Web API (``httpx``)."""
