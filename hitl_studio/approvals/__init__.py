"""Approval rules that need no database: states, form schemas, the event hash chain, reminders, idempotency keys."""
