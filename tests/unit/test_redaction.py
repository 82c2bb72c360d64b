"""Secrets out of every value that can be shown: by field name at any depth, by path, and in free text."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.planning import redaction

Sensitive = redaction.Sensitive


def test_credential_fields_are_masked_at_any_depth(key: bytes) -> None:
    value = {
        "name": "in.csv",
        "accessKey": "AKIA-SECRET",
        "nested": {"deeper": [{"password": "hunter2", "user": "app"}], "token": "t0k3n"},
        "list": [{"apiKey": "k"}, {"secret_key": "s"}],
    }
    masked = redaction.mask(value, ("dataSource", "params"), frozenset(), key)
    assert masked["name"] == "in.csv"
    assert masked["nested"]["deeper"][0]["user"] == "app"
    for shown in (
        masked["accessKey"],
        masked["nested"]["deeper"][0]["password"],
        masked["nested"]["token"],
        masked["list"][0]["apiKey"],
        masked["list"][1]["secret_key"],
    ):
        assert isinstance(shown, Sensitive)
    assert "hunter2" not in repr(masked)
    assert "AKIA-SECRET" not in repr(masked)


@pytest.mark.parametrize(
    "name",
    # Case and separators do not matter (from "Password" on): a free-form params Struct may spell it any way.
    [
        *("accessKey", "secretKey", "password", "token", "apiKey", "access_key", "api_key", "Password", "apikey"),
        *("APIKEY", "client_secret", "client-secret", "Access_Token", "privateKey"),
    ],
)
def test_each_credential_name_is_masked(key: bytes, name: str) -> None:
    assert isinstance(redaction.mask({name: "v"}, ("params", "app"), (), key)[name], Sensitive)


@pytest.mark.parametrize("name", ["secretId", "name", "url", "tokens", "keys", "token_count"])
def test_other_names_are_not_masked(key: bytes, name: str) -> None:
    assert redaction.mask({name: "v"}, ("params", "app"), (), key) == {name: "v"}


def test_a_whole_credential_value_is_masked_even_when_it_is_a_mapping(key: bytes) -> None:
    masked = redaction.mask({"password": {"primary": "p1", "old": ["p0"]}}, ("params", "app"), (), key)
    assert isinstance(masked["password"], Sensitive)


def test_sensitive_paths_are_masked_whatever_their_name(key: bytes) -> None:
    value = {"database": "postgres://u:pw@db", "steps": 3, "list": ["a", "secret-b"]}
    paths = {("params", "app", "database"), ("params", "app", "list", 1)}
    masked = redaction.mask(value, ("params", "app"), paths, key)
    assert isinstance(masked["database"], Sensitive)
    assert masked["list"][0] == "a"
    assert isinstance(masked["list"][1], Sensitive)
    assert masked["steps"] == 3


def test_a_value_at_a_sensitive_path_is_masked_whole(key: bytes) -> None:
    assert isinstance(redaction.mask("s3cr3t", ("name",), {("name",)}, key), Sensitive)
    assert redaction.mask("plain", ("name",), {("other",)}, key) == "plain"


def test_masking_is_idempotent(key: bytes) -> None:
    once = redaction.mask({"token": "t", "x": 1}, ("params", "app"), (), key)
    assert redaction.mask(once, ("params", "app"), (), b"another key") == once


def test_masking_does_not_touch_its_input(key: bytes) -> None:
    value = {"token": "t", "inner": {"password": "p"}}
    redaction.mask(value, ("params", "app"), (), key)
    assert value == {"token": "t", "inner": {"password": "p"}}


@pytest.mark.parametrize(
    ("path", "sensitive"),
    [
        (("params", "app", "token", 1), frozenset()),
        (("params", "app", "password", "primary"), frozenset()),
        (("params", "app", "database", "dsn"), frozenset({("params", "app", "database")})),
    ],
)
def test_a_value_inside_a_masked_field_is_masked(
    key: bytes, path: tuple[str | int, ...], sensitive: frozenset[tuple[str | int, ...]]
) -> None:
    assert redaction.is_sensitive(path, sensitive)  # the module itself says these lie inside something masked
    assert isinstance(redaction.mask("SENTINEL", path, sensitive, key), Sensitive)


# --- is_sensitive -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("params", "app", "db"), True),
        (("params", "app", "db", "host"), True),
        (("params", "app"), False),
        (("params", "app", "other"), False),
        (("dataSource", "params", "secretKey"), True),
        (("params", "app", "password", 0), True),
        (("params", "app", "steps"), False),
    ],
)
def test_is_sensitive_at_and_inside_masked_fields(path: tuple[str | int, ...], expected: bool) -> None:
    assert redaction.is_sensitive(path, {("params", "app", "db")}) is expected


# --- fingerprints -----------------------------------------------------------------------------------------


def test_fingerprints_are_short_keyed_hex(key: bytes) -> None:
    fingerprint = redaction.fingerprint("s3cr3t", key)
    assert len(fingerprint) == 12
    assert int(fingerprint, 16) >= 0
    assert "s3cr3t" not in fingerprint


def test_fingerprints_are_stable_and_tell_values_apart(key: bytes) -> None:
    assert redaction.fingerprint("a-secret", key) == redaction.fingerprint("a-secret", key)
    assert redaction.fingerprint("a-secret", key) != redaction.fingerprint("b-secret", key)
    assert redaction.fingerprint({"a": 1, "b": 2}, key) == redaction.fingerprint({"b": 2, "a": 1}, key)


def test_fingerprints_depend_on_the_account_key() -> None:
    one, other = redaction.fingerprint_key("key-one"), redaction.fingerprint_key("key-two")
    assert one != other
    assert redaction.fingerprint_key("key-one") == one
    assert redaction.fingerprint("a-secret", one) != redaction.fingerprint("a-secret", other)


def test_an_unkeyed_hash_of_the_value_is_not_the_fingerprint(key: bytes) -> None:
    import hashlib

    fingerprint = redaction.fingerprint("a-secret", key)
    for plain in (b"a-secret", b'"a-secret"'):
        assert not hashlib.sha256(plain).hexdigest().startswith(fingerprint)


def test_a_sensitive_value_reads_as_its_fingerprint() -> None:
    assert str(Sensitive("0123456789ab")) == "(sensitive 0123456789ab)"


# --- scrub: free text from the server ---------------------------------------------------------------------


def test_scrub_removes_every_known_secret() -> None:
    text = "denied for key AKIA1234 with secret s3cr3t-value (AKIA1234)"
    assert (
        redaction.scrub(text, ["AKIA1234", "s3cr3t-value"])
        == "denied for key (redacted) with secret (redacted) ((redacted))"
    )


def test_scrub_replaces_the_longest_secret_first() -> None:
    assert redaction.scrub("token abcdef-long", ["abcd", "abcdef-long"]) == "token (redacted)"


def test_scrub_ignores_empty_and_very_short_secrets() -> None:
    assert redaction.scrub("a b abc", ["", "a", "abc"]) == "a b abc"


def test_scrub_collapses_whitespace() -> None:
    assert redaction.scrub("line one\n\n  line\ttwo ", []) == "line one line two"


def test_scrub_truncates_to_the_limit() -> None:
    scrubbed = redaction.scrub("x" * 500, [], limit=50)
    assert len(scrubbed) == 50
    assert scrubbed.endswith("…")
    assert redaction.scrub("y" * 300, []) == "y" * 300
    assert len(redaction.scrub("y" * 301, [])) == 300


def test_scrub_removes_secrets_before_truncating() -> None:
    secret = "SENTINEL-secret-value"
    scrubbed = redaction.scrub("x" * 40 + secret + "y" * 40, [secret], limit=50)
    assert "SENTINEL" not in scrubbed
    assert "SENTINEL"[:4] not in scrubbed


ESCAPED_SECRET = 'k<&>/"\\é😀-9f3a'


@pytest.mark.parametrize(
    "spelling",
    [
        json.dumps(ESCAPED_SECRET)[1:-1],  # Python: \", \\, \u00e9 and a surrogate pair
        json.dumps(ESCAPED_SECRET, ensure_ascii=False)[1:-1],
        json.dumps(ESCAPED_SECRET)[1:-1].replace("<", "\\u003c").replace("&", "\\u0026").replace(">", "\\u003e"),
        json.dumps(ESCAPED_SECRET)[1:-1].replace("/", "\\/").replace("\\u00e9", "\\u00E9"),
        "".join(f"\\u{unit:04X}" for (unit,) in struct.iter_unpack(">H", ESCAPED_SECRET.encode("utf-16-be"))),
        json.dumps(json.dumps(ESCAPED_SECRET)[1:-1])[1:-1],  # JSON quoted in JSON
    ],
)
def test_scrub_removes_a_secret_in_every_json_escaping(spelling: str) -> None:
    assert redaction.scrub(f"bad value [{spelling}]", [ESCAPED_SECRET]) == "bad value [(redacted)]"


# The shortcut for values with nothing to mask ---------------------------------------------------------------------

NAMES = st.sampled_from(["name", "password", "token", "bucket", "secretAccessKey", "x"])
VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=5)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(NAMES, children, max_size=3)),
    max_leaves=12,
)
PATHS = st.lists(st.one_of(NAMES, st.integers(0, 2)), max_size=3).map(tuple)


@given(
    value=VALUES,
    path=PATHS,
    sensitive=st.frozensets(PATHS, max_size=3),
    secrets=st.frozensets(st.text(max_size=5), max_size=2),
)
@settings(max_examples=400)
def test_the_shortcut_masks_exactly_what_the_full_walk_masks(
    value: object,
    path: tuple[str | int, ...],
    sensitive: frozenset[tuple[str | int, ...]],
    secrets: frozenset[str],
) -> None:
    # mask() returns a value with nothing to mask as it is: the result must equal the full walk's, always.
    key = b"k" * 32
    masked = redaction.mask(value, path, sensitive, key, secrets)
    if path and redaction.is_sensitive(path[:-1], sensitive):
        assert isinstance(masked, redaction.Sensitive)
    else:
        assert masked == redaction._mask(value, path, sensitive, key, secrets)
