"""When a node renews its certificate: somewhere between 50 % and 80 % of its life, at a
point derived from its serial number, so nodes that joined together do not all renew at
once (SwarmKit's thundering-herd guard) and a restart keeps the same point. Read from the
certificate's DER (ca/der.py): the heartbeat checks it without the crypto library."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from swarmlet.ca.der import DerError, read_certificate
from swarmlet.ca.expiry import BACKDATE
from swarmlet.errors import SwarmletError

RENEW_FROM = 0.5
RENEW_TO = 0.8


@dataclass(frozen=True)
class Validity:
    serial: int
    not_before: datetime
    expires_at: datetime

    @classmethod
    def of(cls, cert_pem: bytes) -> Validity:
        try:
            facts = read_certificate(cert_pem)
        except (DerError, ValueError) as exc:
            raise SwarmletError(f"invalid node certificate: {exc}") from None
        return cls(facts.serial, facts.not_before, facts.not_after)

    @property
    def issued_at(self) -> datetime:
        """When the certificate was made: NotBefore is backdated by an hour for lagging
        clocks, which is half the span of a 1-hour certificate."""
        issued = self.not_before + BACKDATE
        return issued if issued < self.expires_at else self.not_before

    @property
    def renew_at(self) -> datetime:
        """A point between 50 % and 80 % of the life since issue, derived from the serial.
        (Counted from the backdated NotBefore, a 1-hour certificate would be due at once:
        renewed at every heartbeat.)"""
        serial = str(self.serial).encode()
        fraction = int.from_bytes(hashlib.sha256(serial).digest()[:8], "big") / 2**64
        share = RENEW_FROM + (RENEW_TO - RENEW_FROM) * fraction
        return self.issued_at + (self.expires_at - self.issued_at) * share

    def needs_renewal(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.renew_at

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) > self.expires_at
