"""The workflow editor's logic, kept out of Reflex state so it is tested without a browser."""
