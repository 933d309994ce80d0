"""Built-in nodes that reshape item data: dedupe, split out, aggregate, summarize, rename, compare, dates, hashes."""
