"""GitLab nodes: issues and merge requests through the GitLab REST API v4 (``httpx``)."""
