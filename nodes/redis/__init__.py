"""Redis nodes: read and write keys, lists and hashes, and publish messages."""
