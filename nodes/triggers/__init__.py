"""Nodes that start runs: manual, webhook, schedule, error, and sub-workflow triggers."""
