"""Access tokens: an API key is exchanged for a token that lives ``token_ttl`` seconds.

Without a configured key any non-empty key is accepted (the emulator says so at start); with one, only it.
Tokens are kept in memory only: a restarted emulator forgets them, as a client must expect of any token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable


class Tokens:
    """Issued tokens and their expiry times."""

    def __init__(self, *, api_key: str | None, ttl_seconds: int, clock: Callable[[], float] = time.monotonic):
        self.api_key = api_key
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def accepts(self, api_key: str) -> bool:
        """Whether this key may have a token."""
        if self.api_key is None:
            return bool(api_key)
        return secrets.compare_digest(api_key.encode(), self.api_key.encode())

    def issue(self) -> str:
        """A new token, valid for the TTL."""
        token = "emu." + secrets.token_urlsafe(24)
        with self._lock:
            self._expiry[token] = self._clock() + self.ttl_seconds
        return token

    def valid(self, token: str | None) -> bool:
        """Whether a raw ``Authorization`` value is a live token (no ``Bearer`` prefix, as ByteNite wants)."""
        if not token:
            return False
        expiry = self._expiry.get(token)
        return expiry is not None and self._clock() < expiry

    def expire_all(self) -> int:
        """Expire every issued token now (tests of a token expiring mid-run); returns how many."""
        with self._lock:
            now = self._clock()
            for token in self._expiry:
                self._expiry[token] = now
            return len(self._expiry)
