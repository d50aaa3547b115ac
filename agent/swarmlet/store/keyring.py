"""The swarm's Raft keys, by epoch: what a manager seals Raft traffic and stored secrets with.

Epoch 0 is the key the swarm was made with. When a manager leaves Raft (demoted, removed),
the leader makes the next epoch's key (manager/raft_keys.py) and the remaining managers fetch
it over mutual TLS; the former manager never sees it. Everyone keeps sending under the old
epoch until every Raft member holds the new one (`use`), then they all switch, and a frame
under an older epoch is refused after a short grace, so a former manager's copy of the old
keys opens no new traffic and no newly sealed data.

Old keys stay in the ring: data sealed under them (secrets, the CA key) still opens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

# After the switch to a new epoch, frames under the previous one are still taken this long:
# a member that applied the switch a moment later is not cut off meanwhile.
GRACE = 10.0


class UnknownEpoch(ValueError):
    """A frame or sealed value under an epoch this manager does not hold or no longer takes."""


class RaftKeyRing:
    def __init__(self, keys: Mapping[int, str], send_epoch: int | None = None) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._keys = {int(e): str(k) for e, k in keys.items()}
        self._lock = threading.Lock()
        self._send = min(self._keys) if send_epoch is None else send_epoch
        self._previous: tuple[int, float] | None = None  # (epoch, taken until)

    @classmethod
    def single(cls, key: str) -> RaftKeyRing:
        return cls({0: key})

    # --- what the ring holds --------------------------------------------------------------

    def key(self, epoch: int) -> str:
        try:
            return self._keys[epoch]
        except KeyError:
            raise UnknownEpoch(f"no raft key of epoch {epoch}") from None

    def holds(self, epoch: int) -> bool:
        return epoch in self._keys

    @property
    def newest(self) -> int:
        return max(self._keys)

    def add(self, epoch: int, key: str) -> None:
        with self._lock:
            self._keys[int(epoch)] = key

    def merge(self, keys: Mapping[int, str]) -> bool:
        """Take the keys this ring lacks; True if it got any."""
        with self._lock:
            new = {int(e): k for e, k in keys.items() if int(e) not in self._keys}
            self._keys.update(new)
            return bool(new)

    def export(self) -> dict[str, str]:
        """Every key, by epoch (JSON keys are strings): for the disk and for a new manager."""
        with self._lock:
            return {str(e): k for e, k in sorted(self._keys.items())}

    @classmethod
    def from_export(cls, data: Mapping[str, str], send_epoch: int | None = None,
                    ) -> RaftKeyRing:
        return cls({int(e): k for e, k in data.items()}, send_epoch)

    # --- which epoch is in use ------------------------------------------------------------

    @property
    def send_epoch(self) -> int:
        """The epoch this manager seals with: one every Raft member holds."""
        return self._send

    def use(self, epoch: int, now: float | None = None) -> None:
        """Seal with `epoch` from now on (it must be held); the previous epoch is still taken
        for GRACE seconds. Going back to an older epoch is refused: that is a stale view."""
        with self._lock:
            if epoch not in self._keys:
                raise UnknownEpoch(f"no raft key of epoch {epoch}")
            if epoch <= self._send:
                return
            at = time.monotonic() if now is None else now
            self._previous = (self._send, at + GRACE)
            self._send = epoch

    def takes(self, epoch: int, now: float | None = None) -> bool:
        """Whether a frame under `epoch` is taken: the epoch in use or a newer one held (a
        member that switched first), or the previous one during its grace."""
        if epoch not in self._keys:
            return False
        if epoch >= self._send:
            return True
        previous = self._previous
        at = time.monotonic() if now is None else now
        return previous is not None and previous[0] == epoch and at < previous[1]
