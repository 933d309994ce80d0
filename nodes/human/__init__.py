"""Nodes that wait for people: approvals (and, later, forms and replies)."""
