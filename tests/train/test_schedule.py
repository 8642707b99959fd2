"""Learning-rate schedules."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from forge.train.schedule import constant, cosine, linear


def test_cosine_shape():
    lrs = [cosine(s, 1e-3, 1e-4, 100, 2000) for s in range(2100)]
    assert lrs[0] < 1e-4 and math.isclose(lrs[99], 1e-3 * 100 / 101)
    assert max(lrs) <= 1e-3 and math.isclose(lrs[100], 1e-3)
    assert all(a >= b for a, b in zip(lrs[100:], lrs[101:], strict=False))  # decays monotonically
    assert math.isclose(lrs[1050], (1e-3 + 1e-4) / 2)  # halfway down at the middle
    assert lrs[2000] == lrs[2099] == 1e-4


@given(
    st.integers(0, 5000),
    st.floats(1e-5, 1.0),
    st.floats(0, 1.0),
    st.integers(0, 500),
    st.integers(1, 4000),
)
def test_schedules_stay_within_bounds(step, max_lr, frac, warmup, total):
    min_lr = max_lr * frac
    for f in (cosine, linear, constant):
        lr = f(step, max_lr, min_lr, warmup, total)
        assert 0 < lr <= max_lr * (1 + 1e-12) if step < warmup else lr >= min_lr * (1 - 1e-9)
        assert lr <= max_lr * (1 + 1e-12)
        if step >= max(total, warmup) and f is not constant:
            assert math.isclose(lr, min_lr, rel_tol=1e-9, abs_tol=1e-12 * max_lr)
