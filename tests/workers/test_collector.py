"""The collector as each process sets it (``workers.collector``). The receiver's is settled by the
factory uvicorn runs, not by ``create_app`` (tests build hundreds of apps in one process; freezing
its heap each time would keep it all); the poller's is set around each window it pages, and put back."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Callable

from receiver.app import create_app
from workers.collector import YOUNG_THRESHOLD, young_collections_every
from workers.settings import Settings

PROBE = """
import gc
from receiver.app import from_env
before = (gc.get_threshold()[0], gc.get_freeze_count())
from_env()
print(before[0], before[1], gc.get_threshold()[0], gc.get_freeze_count())
"""


def test_the_server_factory_freezes_the_heap_and_collects_young_objects_less_often(redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, "DATABASE_URL": "sqlite:///:memory:", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    young_before, frozen_before, young_after, frozen_after = map(int, out.split())
    assert (young_before, frozen_before, young_after) == (gc.get_threshold()[0], 0, YOUNG_THRESHOLD)
    assert frozen_after > 10_000  # the modules, classes and the app, at least


def test_building_an_app_leaves_the_collector_alone(make_settings: Callable[..., Settings]) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    create_app(make_settings())
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_young_collections_every_is_put_back_even_on_error() -> None:
    before = gc.get_threshold()
    with young_collections_every(1234):
        assert gc.get_threshold() == (1234, *before[1:])
    try:
        with young_collections_every(4321):
            raise KeyError
    except KeyError:
        pass
    assert gc.get_threshold() == before
