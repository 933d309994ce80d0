"""Secrets at rest: authenticated encryption of credential data and OAuth tokens."""
