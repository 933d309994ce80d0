"""HubSpot nodes: CRM contacts and deals through HubSpot's CRM v3 API (``httpx``)."""
