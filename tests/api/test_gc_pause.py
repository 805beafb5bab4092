"""The collector pause around a device batch leaves the collector as it found it, whatever happens inside."""

from __future__ import annotations

import gc

import pytest

from jeghealth_backend.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def _collector_enabled():
    gc.enable()
    yield
    gc.enable()


def test_it_pauses_inside_and_restores_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_inside_still_restores_it():
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_restore_at_the_outermost():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_by_the_process_stays_disabled():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()
