"""The live hub: rooms, bounded queues, and resync for a subscriber that falls behind."""

from __future__ import annotations

from checkin.live.hub import Hub


async def test_an_event_reaches_only_its_own_room() -> None:
    hub = Hub()
    mine, other = hub.subscribe("session:1"), hub.subscribe("session:2")
    hub.publish("session:1", {"seq": 1})
    assert (mine.queue.qsize(), other.queue.qsize()) == (1, 0)
    assert await mine.get() == {"seq": 1}


async def test_a_subscriber_that_falls_behind_is_dropped_with_overflow_set() -> None:
    hub = Hub(queue_size=3)
    slow, fast = hub.subscribe("s"), hub.subscribe("s")
    for seq in range(3):
        hub.publish("s", {"seq": seq})
        await fast.get()
    hub.publish("s", {"seq": 3})
    assert slow.overflowed and not fast.overflowed
    assert hub.subscribers("s") == 1


async def test_a_relay_only_hub_leaves_delivery_to_the_relay() -> None:
    hub = Hub(relay_only=True)
    sub = hub.subscribe("s")
    hub.publish("s", {"seq": 1})
    assert sub.queue.qsize() == 0
    hub.deliver("s", {"seq": 1})
    assert sub.queue.qsize() == 1
