"""Reliability fixtures: the API client fixtures of tests/api, on both backends."""

from __future__ import annotations

from tests.api.conftest import client, make_client

__all__ = ["client", "make_client"]
