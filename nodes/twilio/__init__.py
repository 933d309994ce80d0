"""Twilio nodes: SMS and WhatsApp messages through Twilio's REST API (``httpx``)."""
