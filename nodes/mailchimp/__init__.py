"""Mailchimp nodes: audience members through the Mailchimp Marketing API 3.0 (``httpx``)."""
