"""Discord nodes: messages and files through a channel's webhook (``httpx``)."""
