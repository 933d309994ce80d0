"""File nodes: read and write CSV, JSON, spreadsheets, archives, files on disk, Markdown, XML and HTML."""
