"""Just enough DER to read what a node needs from its own certificate and CSR without the
crypto library (RFC 5280, RFC 2986): a certificate's serial number, validity and public key,
and a CSR's public key. Reading only: trust stays with the ssl module and the root CA."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

SEQUENCE, INTEGER, UTC_TIME, GENERALIZED_TIME = 0x30, 0x02, 0x17, 0x18
EXPLICIT_0 = 0xA0  # a certificate's [0] version


class DerError(ValueError):
    """Not the DER structure expected."""


class _Element(NamedTuple):
    tag: int
    start: int  # of the tag byte
    body: int   # of the content
    end: int


@dataclass(frozen=True)
class CertificateFacts:
    serial: int
    not_before: datetime
    not_after: datetime
    public_key: bytes  # the SubjectPublicKeyInfo, whole


def _element(der: bytes, pos: int, limit: int) -> _Element:
    if pos + 2 > limit:
        raise DerError("truncated")
    tag, first = der[pos], der[pos + 1]
    if tag & 0x1F == 0x1F:
        raise DerError("unexpected high tag number")
    body = pos + 2
    if first < 0x80:
        length = first
    else:
        size = first & 0x7F
        if not 0 < size <= 4 or body + size > limit:
            raise DerError("bad length")
        length = int.from_bytes(der[body:body + size], "big")
        body += size
    if body + length > limit:
        raise DerError("truncated")
    return _Element(tag, pos, body, body + length)


def _items(der: bytes, parent: _Element) -> list[_Element]:
    """The elements inside a SEQUENCE (or an explicit tag)."""
    items, pos = [], parent.body
    while pos < parent.end:
        item = _element(der, pos, parent.end)
        items.append(item)
        pos = item.end
    return items


def _expect(element: _Element, tag: int, what: str) -> _Element:
    if element.tag != tag:
        raise DerError(f"{what}: unexpected tag {element.tag:#04x}")
    return element


def _time(der: bytes, element: _Element) -> datetime:
    text = der[element.body:element.end].decode("ascii")
    if element.tag == UTC_TIME:  # YYMMDDHHMMSSZ: 50..99 are 19xx (RFC 5280 4.1.2.5.1)
        text = ("19" if int(text[:2]) >= 50 else "20") + text
    elif element.tag != GENERALIZED_TIME:
        raise DerError("validity: not a time")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def pem_to_der(pem: bytes, label: str) -> bytes:
    """The first `label` block of a PEM text (CERTIFICATE, CERTIFICATE REQUEST)."""
    text = pem.decode("ascii", errors="replace")
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise DerError(f"no {label} in the PEM text")
    try:
        return base64.b64decode("".join(text[start + len(begin):stop].split()), validate=True)
    except binascii.Error as exc:
        raise DerError(f"bad base64: {exc}") from None


def _top(der: bytes, what: str) -> list[_Element]:
    """The fields of the signed part (tbsCertificate, certificationRequestInfo)."""
    outer = _expect(_element(der, 0, len(der)), SEQUENCE, what)
    return _items(der, _expect(_items(der, outer)[0], SEQUENCE, what))


def read_certificate(cert_pem: bytes) -> CertificateFacts:
    der = pem_to_der(cert_pem, "CERTIFICATE")
    fields = _top(der, "certificate")
    if fields and fields[0].tag == EXPLICIT_0:
        fields = fields[1:]
    if len(fields) < 6:
        raise DerError("certificate: too few fields")
    serial, _algorithm, _issuer, validity, _subject, public_key = fields[:6]
    _expect(serial, INTEGER, "serial number")
    times = _items(der, _expect(validity, SEQUENCE, "validity"))
    if len(times) != 2:
        raise DerError("validity: not two times")
    return CertificateFacts(
        serial=int.from_bytes(der[serial.body:serial.end], "big", signed=True),
        not_before=_time(der, times[0]), not_after=_time(der, times[1]),
        public_key=der[public_key.start:_expect(public_key, SEQUENCE, "public key").end])


def csr_public_key(csr_pem: bytes) -> bytes:
    """The SubjectPublicKeyInfo a CSR asks a certificate for, whole."""
    der = pem_to_der(csr_pem, "CERTIFICATE REQUEST")
    fields = _top(der, "certificate request")
    if len(fields) < 3:
        raise DerError("certificate request: too few fields")
    public_key = _expect(fields[2], SEQUENCE, "public key")
    return der[public_key.start:public_key.end]
