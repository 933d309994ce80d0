"""Slack nodes: messages, channels, users, reactions and files through the Web API (``slack_sdk``)."""
