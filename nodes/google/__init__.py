"""Google nodes: Sheets and Drive through google-api-python-client, signed in as a service account."""
