"""State shared by every page; imports nothing else from the UI."""
