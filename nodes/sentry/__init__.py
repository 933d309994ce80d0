"""Sentry nodes: a project's issues through Sentry's web API (``httpx``), on sentry.io or a self-hosted Sentry."""
