"""Reusable pieces of the studio's pages."""
