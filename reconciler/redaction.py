"""Secrets out of every value that can be shown: by field and by path, never by substring.

A masked value is a :class:`Sensitive` carrying a short keyed fingerprint: a reviewer still sees *that* a
secret changed (and whether two plans saw the same one) but cannot guess it by hashing candidates, since the
key is derived from the API key the reader does not hold.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from reconciler import manifests

Path = tuple[str | int, ...]
FINGERPRINT_CHARS: Final = 12


@dataclass(frozen=True)
class Sensitive:
    """A value that must not be shown; equal fingerprints mean equal values under one account."""

    fingerprint: str

    def __str__(self) -> str:
        return f"(sensitive {self.fingerprint})"


def fingerprint_key(api_key: str) -> bytes:
    """The HMAC key: a hash of the API key, so fingerprints are stable per account and useless without it."""
    return hashlib.sha256(b"reconciler-fingerprint\0" + api_key.encode()).digest()


def fingerprint(value: Any, key: bytes) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()[:FINGERPRINT_CHARS]


def as_json(value: Any) -> Any:
    """A redacted value as plain JSON: a masked value becomes ``{"sensitive": true, "fingerprint": ...}``.

    Equal JSON means equal values, secrets included (by fingerprint), so this is also how plans compare.
    """
    if isinstance(value, Sensitive):
        return {"sensitive": True, "fingerprint": value.fingerprint}
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    return value


def is_credential(key: str | int) -> bool:
    return isinstance(key, str) and key in manifests.CREDENTIAL_KEYS


def mask(value: Any, path: Path, sensitive: Iterable[Path], key: bytes) -> Any:
    """``value`` (found at ``path``) with every credential field and every sensitive path masked.

    A value *inside* a credential field or a sensitive path (``token[1]``, ``password.user``) is masked too:
    the whole field is the secret, whatever its shape.
    """
    sensitive = frozenset(sensitive)
    if path and is_sensitive(path[:-1], sensitive):
        return value if isinstance(value, Sensitive) else Sensitive(fingerprint(value, key))
    if not (path and path[-1] in manifests.CREDENTIAL_KEYS) and not _under(path, sensitive) and _clean(value):
        return value  # nothing inside to mask, the common case: returned as is, not copied
    return _mask(value, path, sensitive, key)


def _clean(value: Any) -> bool:
    """No credential field anywhere inside ``value``; a walk that builds nothing."""
    if isinstance(value, dict):
        return manifests.CREDENTIAL_KEYS.isdisjoint(value) and all(map(_clean, value.values()))
    if isinstance(value, list):
        return all(map(_clean, value))
    return True


def _under(path: Path, sensitive: frozenset[Path]) -> bool:
    """Whether a sensitive path is ``path`` or lies inside it."""
    depth = len(path)
    return any(candidate[:depth] == path for candidate in sensitive)


def _mask(value: Any, path: Path, sensitive: frozenset[Path], key: bytes) -> Any:
    if (path and path[-1] in manifests.CREDENTIAL_KEYS) or path in sensitive:
        return value if isinstance(value, Sensitive) else Sensitive(fingerprint(value, key))
    if isinstance(value, dict):
        return {name: _mask(item, (*path, name), sensitive, key) for name, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, (*path, index), sensitive, key) for index, item in enumerate(value)]
    return value


def is_sensitive(path: Path, sensitive: Iterable[Path]) -> bool:
    """Whether a value at ``path`` is, or lies inside, something masked."""
    if not manifests.CREDENTIAL_KEYS.isdisjoint(path):
        return True
    sensitive = frozenset(sensitive)
    return bool(sensitive) and any(path[:length] in sensitive for length in range(1, len(path) + 1))


def scrub(text: str, secrets: Iterable[str], limit: int = 300) -> str:
    """An API message fit to show: known secret values cut out, then truncated.

    The one place a substring is replaced: an error body is free text from the server, so it has no fields.
    """
    spellings = {
        form
        for secret in secrets
        if secret and len(secret) >= 4
        # An API error may quote the request's JSON, where a secret appears escaped.
        for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1])
    }
    for form in sorted(spellings, key=len, reverse=True):
        text = text.replace(form, "(redacted)")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
