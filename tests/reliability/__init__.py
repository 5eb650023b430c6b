"""Reliability suite: models, fuzzing, abuse, faults."""
