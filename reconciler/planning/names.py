"""The words manifests, plans and the API's answers share: what a reference, a key, an id and a credential look
like. Both sides of the data flow read them (desired state validates by them, planning masks by them), so
they live here, below both, and import nothing.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Final
from urllib.parse import urlsplit

API_VERSION: Final = "reconciler.bytenite.io/v1"

# A key names a job without a hand-made UUID: its id is UUIDv5(KEY_NAMESPACE, key), on every machine.
KEY_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.bytenite.io/job-key")

# ``${env:NAME}``; ``${env:NAME:-}`` also accepts an empty value (an empty variable is otherwise an error, since
# CI systems set a missing secret to the empty string, and sending it would wipe the stored credential).
REFERENCE: Final = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-)?\}$")
# The tool's own settings (the API key above all): a manifest that references one would send it to a job.
RESERVED_PREFIX: Final = "BYTENITE_"
JOB_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# A key is written into the ownership marker line and hashed into ids: it may not hold what could end that line
# or forge another (a newline, ``;``, ``=``, spaces), nor ``#``, which generation ids append (``KEY#N``).
ENVIRONMENT_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"  # as the ownership marker writes it
KEY_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$"
KEY_ALPHABET: Final = (
    "1 to 200 characters: ASCII letters, digits and . _ - / : (starting with a letter or a digit); no spaces, #, ; or ="
)
# Credential fields, by the names the API and older jobs use: their values are masked in every output and a
# literal value in a manifest is refused, since manifests live in git.
CREDENTIAL_KEYS: Final = frozenset(
    {"accessKey", "secretKey", "password", "token", "apiKey", "access_key", "secret_key", "api_key"}
)
# The same names, and the usual others, folded: case, ``_`` and ``-`` are ignored, so ``Password``, ``apikey`` and
# ``client-secret`` are credentials too (a free-form params Struct may spell a key any way).
CREDENTIAL_NAMES: Final = frozenset(
    {
        "accesskey", "secretkey", "secretaccesskey", "password", "passwd", "passphrase", "secret", "clientsecret",
        "token", "accesstoken", "authtoken", "refreshtoken", "sessiontoken", "bearertoken", "apitoken", "apikey",
        "privatekey",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def is_credential_name(key: str) -> bool:
    """Whether a mapping key names a credential; cached, since masking asks for every key of every value."""
    return key.replace("_", "").replace("-", "").lower() in CREDENTIAL_NAMES


def has_userinfo(value: str) -> bool:
    """Whether ``value`` is a URL carrying ``user[:password]@``: a credential in itself, wherever it sits."""
    if "@" not in value or "://" not in value:
        return False
    try:
        return "@" in urlsplit(value).netloc
    except ValueError:
        return True  # not a URL Python can parse, but it has the shape of one with a user: treat it as one
