"""Telegram nodes: messages, photos and documents through the Telegram Bot API (``httpx``)."""
