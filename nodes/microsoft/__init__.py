"""Microsoft 365 nodes: Outlook mail, OneDrive files and To Do tasks through Microsoft Graph (``httpx``)."""
