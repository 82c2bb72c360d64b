"""The API key: read once from a file or the environment, held so that no ``repr``, log line or traceback can
show it, and revealed only where a request needs it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from reconciler import errors

API_KEY_VARIABLE: Final = "BYTENITE_API_KEY"


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` print a mask; :meth:`reveal` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


MAX_KEY_BYTES: Final = 4096  # an API key is a few dozen characters; /dev/zero or a log file is not one


def read_key(key_file: str | None, environ: Mapping[str, str], variable: str = API_KEY_VARIABLE) -> Secret:
    """The API key from a file (never from the command line, where process lists show it) or the environment.

    At most :data:`MAX_KEY_BYTES` are read: ``--api-key-file /dev/zero`` must be an error, not a hang.
    """
    if key_file:
        try:
            with Path(key_file).open("rb") as handle:
                raw = handle.read(MAX_KEY_BYTES + 1)
        except OSError as error:
            raise errors.ConfigError(f"cannot read the API key file {key_file}: {error.strerror}") from None
        if len(raw) > MAX_KEY_BYTES:
            raise errors.ConfigError(f"--api-key-file {key_file}: more than {MAX_KEY_BYTES} bytes, not an API key")
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise errors.ConfigError(f"--api-key-file {key_file}: not UTF-8 text, not an API key") from None
        if any(not character.isprintable() for character in text):
            raise errors.ConfigError(f"--api-key-file {key_file}: holds control characters, not an API key")
        return Secret(text)
    return Secret(environ.get(variable, "").strip())
