"""Approval rules that need no database: the state machine, form schemas, the event hash chain."""
