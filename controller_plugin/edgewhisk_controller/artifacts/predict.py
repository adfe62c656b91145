"""The preload predictor: which models a device is likely to need next, learnt from placement.

The model, kept simple so every decision can be explained in one sentence. Each time an
activation consuming ``cloud`` models is placed, the dispatcher tells ``observe`` the invoker's
attributes and the models' registry names. Two tables of exponentially decayed counts
(half-life ``HALF_LIFE_S``, three days) learn from it:

- per (namespace, owner, hour of day): what this user's devices needed at that hour;
- per (namespace, site, role, hour of day): what devices at this site needed then (a new
  user's phone arriving at the plant learns from the plant's other devices).

``wanted(state, now)`` scores each model by its owner count plus ``SITE_WEIGHT`` times its site
count, over the hours of the day ahead (``HORIZON_H``: a phone charging at night is filled for
its whole next day), and answers those scoring at least ``THRESHOLD`` (a model needed about once
recently), best first, at most ``TOP`` of them, each with its reason (``predicted: u1 needed
glucose-base 3.2 times, mostly around 08:00; site plant 1.5``). The caller (``standing.py``)
preloads them only while the device is charging (or mains powered) and on an unmetered network,
within its node store's budget."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ..placement.interface import InvokerState

HALF_LIFE_S = 3 * 86_400.0
HORIZON_H = 24
SITE_WEIGHT = 0.5
THRESHOLD = 0.8
TOP = 3
HOUR_S = 3600


@dataclass
class _Count:
    value: float = 0.0
    at: float = 0.0  # when ``value`` was last decayed to

    def now(self, t: float) -> float:
        return self.value * math.pow(0.5, max(0.0, t - self.at) / HALF_LIFE_S)

    def add(self, t: float, amount: float = 1.0) -> None:
        if t >= self.at:
            self.value, self.at = self.now(t) + amount, t
        else:  # an older observation (a benchmark's history): decayed to the count's time
            self.value += amount * math.pow(0.5, (self.at - t) / HALF_LIFE_S)


def hour_of(t: float) -> int:
    """The hour of day (UTC) of the epoch time ``t``."""
    return int(t // HOUR_S) % 24


class Predictor:
    """Decayed counts of the models needed per (owner, hour) and (site, role, hour)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.by_owner: dict[tuple[str, str, int], dict[str, _Count]] = defaultdict(dict)
        self.by_site: dict[tuple[str, str, str, int], dict[str, _Count]] = defaultdict(dict)

    @property
    def empty(self) -> bool:
        """Nothing observed yet (nothing to predict)."""
        return not self.by_site

    def observe(self, ns: str, state: InvokerState, models: list[str],
                t: float | None = None) -> None:
        """An activation placed on ``state`` consumes ``models`` (registry names)."""
        t = self.clock() if t is None else t
        hour = hour_of(t)
        for name in dict.fromkeys(models):
            if state.owner is not None:
                self.by_owner[(ns, state.owner, hour)].setdefault(name, _Count()).add(t)
            self.by_site[(ns, state.site, state.role, hour)].setdefault(name, _Count()).add(t)

    def wanted(self, ns: str, state: InvokerState,
               t: float | None = None) -> list[tuple[str, float, str]]:
        """``(model, score, reason)`` worth preloading on ``state`` now, best first."""
        t = self.clock() if t is None else t
        own: dict[str, float] = defaultdict(float)
        site: dict[str, float] = defaultdict(float)
        peak: dict[str, tuple[float, int]] = {}
        for ahead in range(HORIZON_H):
            hour = hour_of(t + ahead * HOUR_S)
            tables = [(site, self.by_site.get((ns, state.site, state.role, hour), {}))]
            if state.owner is not None:
                tables.append((own, self.by_owner.get((ns, state.owner, hour), {})))
            for into, counts in tables:
                for name, count in counts.items():
                    value = count.now(t)
                    into[name] += value
                    if value > peak.get(name, (0.0, 0))[0]:
                        peak[name] = (value, hour)
        ranked = sorted(((own[n] + SITE_WEIGHT * site[n], n) for n in set(own) | set(site)),
                        reverse=True)
        who = state.owner or "this device"
        return [(name, score, f"predicted: {who} needed {name} {own[name]:.1f} times, mostly "
                              f"around {peak[name][1]:02d}:00; site {state.site or '-'} "
                              f"{site[name]:.1f}")
                for score, name in ranked if score >= THRESHOLD][:TOP]
