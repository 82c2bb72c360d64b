"""Secrets out of every value that can be shown: by field, by path and by value, never by substring.

A masked value is a :class:`Sensitive` carrying a short keyed fingerprint: a reviewer still sees *that* a
secret changed (and whether two plans saw the same one) but cannot guess it by hashing candidates, since the
key is derived from the API key the reader does not hold.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Final

from reconciler.planning import names

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


@functools.lru_cache(maxsize=4096)
def is_credential(key: str | int) -> bool:
    """Whether a mapping key names a credential, whatever its case or separators (``Password``, ``api_key``).

    Every walk below asks it of every key; cached, its answers for the keys manifests repeat stay in C.
    """
    return isinstance(key, str) and names.is_credential_name(key)


def _secret_leaf(value: Any, secrets: Collection[str]) -> bool:
    """A string that is a known secret (by value, wherever a diff put it) or a URL carrying a password."""
    return isinstance(value, str) and ((bool(value) and value in secrets) or names.has_userinfo(value))


def mask(value: Any, path: Path, sensitive: Iterable[Path], key: bytes, secrets: Collection[str] = ()) -> Any:
    """``value`` (found at ``path``) with every credential field, every sensitive path and every secret masked.

    A value *inside* a credential field or a sensitive path (``token[1]``, ``password.user``) is masked too:
    the whole field is the secret, whatever its shape. ``secrets`` are the values themselves (resolved
    references, credentials of either side): any string equal to one is masked wherever it sits, since a diff
    may report a list item at another position than the manifest's (deepdiff reports changes at the old one).
    """
    if not isinstance(sensitive, frozenset):
        sensitive = frozenset(sensitive)
    if path and is_sensitive(path[:-1], sensitive):
        return value if isinstance(value, Sensitive) else Sensitive(fingerprint(value, key))
    if not (path and is_credential(path[-1])) and not _under(path, sensitive) and _clean(value, secrets):
        return value  # nothing inside to mask, the common case: returned as is, not copied
    return _mask(value, path, sensitive, key, secrets)


def _clean(value: Any, secrets: Collection[str]) -> bool:
    """No credential field and no secret anywhere inside ``value``; a walk that builds nothing, and stops at the
    first thing found."""
    if isinstance(value, str):
        return not ((value and value in secrets) or names.has_userinfo(value))
    if isinstance(value, dict):
        for name, item in value.items():  # a loop, not all(): no generator per level  # noqa: SIM110
            if is_credential(name) or not _clean(item, secrets):
                return False
        return True
    if isinstance(value, list):
        for item in value:
            if not _clean(item, secrets):
                return False
    return True


def _under(path: Path, sensitive: frozenset[Path]) -> bool:
    """Whether a sensitive path is ``path`` or lies inside it."""
    depth = len(path)
    return any(candidate[:depth] == path for candidate in sensitive)


def _mask(value: Any, path: Path, sensitive: frozenset[Path], key: bytes, secrets: Collection[str]) -> Any:
    if (path and is_credential(path[-1])) or path in sensitive or _secret_leaf(value, secrets):
        return value if isinstance(value, Sensitive) else Sensitive(fingerprint(value, key))
    if isinstance(value, dict):
        return {name: _mask(item, (*path, name), sensitive, key, secrets) for name, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, (*path, index), sensitive, key, secrets) for index, item in enumerate(value)]
    return value


def is_sensitive(path: Path, sensitive: Iterable[Path]) -> bool:
    """Whether a value at ``path`` is, or lies inside, something masked."""
    if any(map(is_credential, path)):
        return True
    if not sensitive:
        return False
    if not isinstance(sensitive, frozenset):
        sensitive = frozenset(sensitive)
    return any(path[:length] in sensitive for length in range(1, len(path) + 1))


def secret_leaves(value: Any, path: Path, sensitive: frozenset[Path]) -> list[str]:
    """Every string that :func:`mask` hides in ``value`` by field or by path, at any depth and in any shape
    (a credential holding a list or a mapping gives each of its strings), and every URL carrying a password."""
    return exposure(value, path, sensitive)[0]


def exposure(value: Any, path: Path, sensitive: frozenset[Path]) -> tuple[list[str], bool]:
    """:func:`secret_leaves`, and whether :func:`mask` could change ``value`` by field or by path at all (a
    credential field holding a number has no string to find, but is masked all the same).

    This is the one walk that finds a job's secrets, run over every value of every job: it builds a path only
    where a sensitive path could match it (without one, only the key names matter), and no generator.
    """
    found: list[str] = []
    if (path and is_credential(path[-1])) or path in sensitive:
        _strings(value, found)
        return found, True
    met = _leaves_at(value, path, sensitive, found) if sensitive else _leaves(value, found)
    return found, met


def _leaves(value: Any, found: list[str]) -> bool:
    """:func:`exposure` where no path is sensitive: credential keys and URLs with a password only."""
    met = False
    if isinstance(value, str):
        if names.has_userinfo(value):
            found.append(value)
            met = True
    elif isinstance(value, dict):
        for name, item in value.items():
            if is_credential(name):
                _strings(item, found)
                met = True
            elif not isinstance(item, (int, float)) and item is not None:
                met = _leaves(item, found) or met
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, (int, float)) and item is not None:
                met = _leaves(item, found) or met
    return met


def _leaves_at(value: Any, path: Path, sensitive: frozenset[Path], found: list[str]) -> bool:
    if (path and is_credential(path[-1])) or path in sensitive:
        _strings(value, found)
        return True
    met = False
    if isinstance(value, dict):
        for name, item in value.items():
            met = _leaves_at(item, (*path, name), sensitive, found) or met
    elif isinstance(value, list):
        for index, item in enumerate(value):
            met = _leaves_at(item, (*path, index), sensitive, found) or met
    elif isinstance(value, str) and names.has_userinfo(value):
        found.append(value)
        met = True
    return met


def _strings(value: Any, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, found)
    elif isinstance(value, list):
        for item in value:
            _strings(item, found)


def credential_values(body: Any) -> set[str]:
    """Every string under a credential key of a request body (lists and mappings included): the server's own
    credentials, re-sent in a whole section, to be scrubbed from the errors that may quote them.
    """
    return set(secret_leaves(body, (), frozenset()))


# The escapes a JSON encoder may use for a character: ``\"`` and the like, and ``\uXXXX`` in either case of hex.
SHORT_ESCAPES: Final = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
MIN_SECRET_CHARS: Final = 4


def _spellings(char: str) -> str:
    r"""A pattern for every way a JSON encoder may write ``char``: as itself, ``\uXXXX`` (upper or lower hex, a
    surrogate pair beyond the BMP, as Python, Go's HTML-safe escaping and others do) or a short escape
    (``\/`` included). A run of backslashes stands for one, so a value escaped twice (JSON quoted in JSON) is
    matched too.
    """
    code = ord(char)
    units = [code] if code <= 0xFFFF else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
    hex_form = "".join(
        r"\\+u" + "".join(f"[{digit}{digit.upper()}]" if digit.isalpha() else digit for digit in f"{unit:04x}")
        for unit in units
    )
    forms = [re.escape(char), hex_form]
    if char in SHORT_ESCAPES:
        forms.append(r"\\+" + re.escape(SHORT_ESCAPES[char]))
    return "(?:" + "|".join(forms) + ")"


@functools.lru_cache(maxsize=16)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    """One pattern for all secrets, longest first; cached, since a client scrubs every error with one set."""
    usable = sorted((secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS), key=len, reverse=True)
    if not usable:
        return None
    return re.compile("|".join("".join(map(_spellings, secret)) for secret in usable))


def scrub(text: str, secrets: Iterable[str], limit: int = 300) -> str:
    r"""An API message fit to show: known secret values cut out, in every spelling JSON allows, then truncated.

    The one place a substring is replaced: an error body is free text from the server, so it has no fields.
    An API error may quote the request's JSON, where a secret appears escaped by whatever encoder the server
    uses (``\u003c`` for ``<``, ``\/``, upper-case hex), so every escaping of every character is matched.
    """
    pattern = _pattern(frozenset(secrets))
    if pattern is not None:
        text = pattern.sub("(redacted)", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
