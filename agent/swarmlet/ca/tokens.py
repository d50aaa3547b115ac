"""Join tokens in Docker's format: SWMTKN-1-<CA digest>-<secret>.

The digest pins the root CA so that a joiner can trust the manager it first reaches without
any other channel; the secret proves the joiner may join (and, by which token matched, as
what role). Worker and manager tokens share the digest and differ in secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import string
from dataclasses import dataclass, field

from swarmlet.errors import SwarmletError

PREFIX = "SWMTKN"
VERSION = 1
DIGEST_LENGTH = 50  # a 256-bit number takes at most 50 base-36 digits
SECRET_LENGTH = 25  # a 128-bit number takes at most 25 base-36 digits
SECRET_BYTES = 16

# Go's big.Int.Text(36) alphabet, which Docker uses.
_ALPHABET = string.digits + string.ascii_lowercase


class InvalidJoinToken(SwarmletError):
    """A string that is not a join token at all (as opposed to a wrong one)."""


def _base36(number: int) -> str:
    if number == 0:
        return "0"
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def ca_digest(ca_pem: bytes) -> str:
    """SHA-256 of the root CA certificate's PEM bytes, in base 36, padded to 50 chars.

    The hash is over the exact PEM bytes, so a manager must serve the CA file unchanged.
    """
    number = int.from_bytes(hashlib.sha256(ca_pem).digest(), "big")
    return _base36(number).rjust(DIGEST_LENGTH, "0")


def generate_join_token(ca_pem: bytes) -> str:
    """A new token for the CA: fresh 128-bit secret, so rotating is just calling this again."""
    secret = _base36(int.from_bytes(os.urandom(SECRET_BYTES), "big")).rjust(SECRET_LENGTH, "0")
    return f"{PREFIX}-{VERSION}-{ca_digest(ca_pem)}-{secret}"


def _is_base36(text: str) -> bool:
    return all(c in _ALPHABET for c in text)


@dataclass(frozen=True)
class JoinToken:
    version: int
    ca_digest: str
    secret: str = field(repr=False)  # keep the secret out of logs and tracebacks

    @classmethod
    def parse(cls, text: str) -> JoinToken:
        """Parse a v1 token; raise InvalidJoinToken on anything else."""
        parts = text.strip().split("-")
        if len(parts) != 4 or parts[0] != PREFIX:
            raise InvalidJoinToken("invalid join token")
        if parts[1] != str(VERSION):
            raise InvalidJoinToken(f"invalid join token: unsupported version {parts[1]!r}")
        digest, secret = parts[2], parts[3]
        if len(digest) != DIGEST_LENGTH or not _is_base36(digest):
            raise InvalidJoinToken("invalid join token: malformed CA digest")
        if len(secret) != SECRET_LENGTH or not _is_base36(secret):
            raise InvalidJoinToken("invalid join token: malformed secret")
        return cls(VERSION, digest, secret)

    def __str__(self) -> str:
        return f"{PREFIX}-{self.version}-{self.ca_digest}-{self.secret}"


def tokens_equal(a: str, b: str) -> bool:
    """Compare whole tokens in constant time, so timing does not leak the secret."""
    return hmac.compare_digest(a.strip().encode(), b.strip().encode())


def matches_ca(token: str, ca_pem: bytes) -> bool:
    """Whether the token pins this CA certificate. False for a malformed token."""
    try:
        parsed = JoinToken.parse(token)
    except InvalidJoinToken:
        return False
    return hmac.compare_digest(parsed.ca_digest, ca_digest(ca_pem))
