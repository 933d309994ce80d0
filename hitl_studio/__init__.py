"""HITL Studio: node-based workflow automation with humans in the loop."""

__version__ = "0.1.0"
