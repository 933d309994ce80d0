"""Dropbox nodes: files and folders through the Dropbox API v2 (``httpx``)."""
