"""SendGrid nodes: email through the v3 Mail Send API and Marketing Campaigns contacts (``httpx``)."""
