"""Tests of the SMSC simulator (`simulator/`)."""

from __future__ import annotations
