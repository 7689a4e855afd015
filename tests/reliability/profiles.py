"""Hypothesis profiles of the reliability fuzz tests.

HYPOTHESIS_PROFILE picks how hard the fuzz tests search: `ci` (the default, seconds per
target) or `long` (by hand, minutes: see docs/reliability.md). The profiles are applied
per test (`PROFILE`), not loaded globally, so the rest of the suite keeps its own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

hypothesis_settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples every CI run: a red build is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = hypothesis_settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
