"""The deadline watcher: a loop that sleeps until the next deadline and a runner that fires each exactly once."""

from checkin.watcher.claim import Lease, claim_due, next_due
from checkin.watcher.loop import Watcher, WatcherStats, run_watcher
from checkin.watcher.runner import Fired, Pass, fire_due

__all__ = ["Fired", "Lease", "Pass", "Watcher", "WatcherStats", "claim_due", "fire_due", "next_due", "run_watcher"]
