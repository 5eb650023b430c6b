"""The scale-out suite: several gateway instances on one PostgreSQL, proven from outside (issue 12)."""
