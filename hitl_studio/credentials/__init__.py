"""Secrets at rest (authenticated encryption, masking them out of run data) and the OAuth2 client protocol."""
