"""What the server's preparation leaves behind for the garbage collector (explorer/ui/warmup.py)."""
import gc
import weakref

from explorer.ui.warmup import freeze_what_lives_on


class Node:
    pass


def test_the_preparation_frees_its_garbage_then_hides_what_lives_on_from_the_collector():
    cycle = Node()
    cycle.me = cycle  # garbage only a collection can free
    freed = weakref.ref(cycle)
    del cycle
    lives_on = Node()
    try:
        freeze_what_lives_on()
        assert freed() is None
        assert gc.get_freeze_count() > 0
        assert not any(tracked is lives_on for tracked in gc.get_objects())  # a full collection skips it
    finally:
        gc.unfreeze()
    assert any(tracked is lives_on for tracked in gc.get_objects())
