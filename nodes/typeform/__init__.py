"""Typeform nodes: forms and their responses through the Typeform Create and Responses APIs (``httpx``)."""
