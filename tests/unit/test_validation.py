"""Manifests are valid, or every problem is reported at once, each at the file:line:column the user must fix.

One fixture file per failure mode (``tests/fixtures/bad-*.yaml``); positions are hard-coded from those files.
"""

from __future__ import annotations

import gc
import json
import math
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from reconciler import errors
from reconciler.desired import jobs, limits, loading, validation

from .helpers import EXAMPLES, FIXTURES

EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yaml"))
MANIFEST_HEAD = "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata:\n  id: job-1\nspec:\n"


def problems_of(*paths: Path | str) -> list[errors.ManifestProblem]:
    with pytest.raises(errors.ManifestErrors) as raised:
        validation.load([str(path) for path in paths])
    return raised.value.problems


def shown(problems: list[errors.ManifestProblem]) -> list[str]:
    return [str(problem) for problem in problems]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- one fixture per failure mode: the message and the position -------------------------------------------


def case(name: str, line: int, column: int, message: str, *marks: pytest.MarkDecorator) -> Any:
    return pytest.param(name, line, column, message, marks=marks, id=name)


CASES = [
    case("bad-unknown-key.yaml", 7, 3, "unknown key 'nmae' (did you mean 'name'?)"),
    case("bad-wrong-type.yaml", 8, 5, "taskTimeout: must be an integer, got the string '3600'"),
    case("bad-missing-key.yaml", 9, 5, "missing required key 'bucketName'"),
    case("bad-duplicate-key.yaml", 8, 3, 'found duplicate key "name"'),
    case("bad-syntax.yaml", 8, 7, "while parsing a flow mapping: did not find expected ',' or '}'"),
    case(
        "bad-url-destination.yaml",
        8,
        5,
        "dataSourceDescriptor 'url' cannot be a destination; expected one of 'aws', 's3', 'gcp', 'storj', 'bucket', "
        "'bypass'",
    ),
    case(
        "bad-bucket-source.yaml",
        8,
        5,
        "dataSourceDescriptor 'bucket' cannot be a source; expected one of 'aws', 's3', 'gcp', 'storj', 'url', 'file', "
        "'bypass'",
    ),
    case(
        "bad-s3-without-secret.yaml",
        9,
        5,
        "params: needs secretId (or, for jobs that predate secrets, both accessKey and secretKey)",
    ),
    case(
        "bad-literal-credential.yaml",
        13,
        7,
        "accessKey holds a literal credential: reference it instead, as ${env:NAME}",
    ),
    case(
        "bad-malformed-reference.yaml",
        10,
        9,
        "a reference must be the whole value, as ${env:NAME} (NAME: letters, digits, _)",
    ),
    case(
        "bad-id-and-key.yaml",
        4,
        1,
        "metadata: give exactly one of id (a ByteNite job id) or key (an id is derived from it)",
    ),
    case(
        "bad-no-identity.yaml",
        4,
        1,
        "metadata: give exactly one of id (a ByteNite job id) or key (an id is derived from it)",
    ),
    case(
        "bad-python-tag.yaml",
        8,
        10,
        "YAML tags that construct objects are not allowed: 'tag:yaml.org,2002:python/object:os.system'",
    ),
    case("bad-null-section.yaml", 6, 1, "spec: must be a mapping, got null"),
]


@pytest.mark.parametrize(
    ("name", "line", "column", "message"),
    CASES,
)
def test_each_failure_mode_is_reported_at_the_offending_key(name: str, line: int, column: int, message: str) -> None:
    path = FIXTURES / name
    assert shown(problems_of(path)) == [f"{path}:{line}:{column}: {message}"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "bad-url-destination.yaml",
            "dataSourceDescriptor 'url' cannot be a destination; expected one of 'aws', 's3', 'gcp', 'storj', "
            "'bucket', 'bypass'",
        ),
        (
            "bad-bucket-source.yaml",
            "dataSourceDescriptor 'bucket' cannot be a source; expected one of 'aws', 's3', 'gcp', 'storj', 'url', "
            "'file', 'bypass'",
        ),
    ],
)
def test_a_descriptor_in_the_wrong_direction_is_named(name: str, message: str) -> None:
    (problem,) = problems_of(FIXTURES / name)
    assert problem.message == message
    assert problem.position.file == str(FIXTURES / name)


def test_a_job_id_managed_twice_is_reported_at_both_positions(tmp_path: Path) -> None:
    first, second = FIXTURES / "bad-duplicate-id-first.yaml", FIXTURES / "bad-duplicate-id-second.yaml"
    assert sorted(shown(problems_of(first, second))) == [
        f"{first}:5:3: job fixture-duplicate-id is also managed by {second}:6:3",
        f"{second}:6:3: job fixture-duplicate-id is already managed by {first}:5:3",
    ]


@pytest.mark.parametrize("name", ["bad-duplicate-id-first.yaml", "bad-duplicate-id-second.yaml"])
def test_each_half_of_a_duplicate_id_is_valid_alone(name: str) -> None:
    (entry,) = validation.load([str(FIXTURES / name)])
    assert entry.job_id == "fixture-duplicate-id"


def test_a_key_and_an_id_naming_one_job_are_a_duplicate(tmp_path: Path) -> None:
    derived = str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.bytenite.io/job-key"), "team/job"))
    by_key = write(tmp_path, "a.yaml", MANIFEST_HEAD.replace("id: job-1", "key: team/job") + "  name: A\n")
    by_id = write(tmp_path, "b.yaml", MANIFEST_HEAD.replace("job-1", derived) + "  name: B\n")
    assert sorted(shown(problems_of(by_key, by_id))) == [
        f"{by_key}:4:3: job {derived} is also managed by {by_id}:4:3",
        f"{by_id}:4:3: job {derived} is already managed by {by_key}:4:3",
    ]


# --- every problem at once --------------------------------------------------------------------------------


def test_every_problem_of_every_file_is_reported_together() -> None:
    bad_files = sorted(FIXTURES.glob("bad-*.yaml"))
    problems = problems_of(*bad_files)
    # One problem per file; the duplicate-id pair has one at each of its two files.
    expected = [str(path) for path in bad_files]
    assert sorted(problem.position.file for problem in problems) == expected
    assert problems == sorted(problems, key=lambda p: (p.position.file, p.position.line, p.position.column))


def test_one_document_reports_all_its_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "many.yaml",
        MANIFEST_HEAD
        + "  nmae: x\n  config:\n    taskTimeout: -1\n    jobTimout: 5\n  params:\n    app: {token: abc}\n",
    )
    assert shown(problems_of(path)) == [
        f"{path}:6:3: unknown key 'nmae' (did you mean 'name'?)",
        f"{path}:8:5: taskTimeout: must be greater than 0",
        f"{path}:9:5: unknown key 'jobTimout' (did you mean 'jobTimeout'?)",
        f"{path}:11:11: token holds a literal credential: reference it instead, as ${{env:NAME}}",
    ]


def test_the_valid_files_beside_a_bad_one_are_not_returned(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", MANIFEST_HEAD + "  name: ok\n")
    with pytest.raises(errors.ManifestErrors) as raised:
        validation.load([str(good), str(FIXTURES / "bad-wrong-type.yaml")])
    assert len(raised.value.problems) == 1
    assert "1 problem in the manifests" in str(raised.value)


def test_problems_in_a_later_document_point_into_that_document(tmp_path: Path) -> None:
    second = MANIFEST_HEAD.replace("job-1", "job-2") + "  config:\n    isTestJob: yes\n"
    path = write(tmp_path, "two.yaml", MANIFEST_HEAD + "  name: ok\n---\n# the second job\n" + second)
    assert shown(problems_of(path)) == [f"{path}:15:5: isTestJob: must be true or false, got the string 'yes'"]


def test_an_unknown_nested_key_gets_a_hint_in_either_spelling(tmp_path: Path) -> None:
    source = (
        "  dataSource:\n    dataSourceDescriptor: aws\n    params:\n"
        "      name: n\n      bucket_nmae: b\n      cloudRegion: r\n      secretId: s\n"
    )
    path = write(tmp_path, "hint.yaml", MANIFEST_HEAD + source)
    assert f"{path}:10:7: unknown key 'bucket_nmae' (did you mean 'bucket_name'?)" in shown(problems_of(path))


def test_an_unknown_key_far_from_any_gets_no_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "nohint.yaml", MANIFEST_HEAD + "  zzzzzz: 1\n")
    assert shown(problems_of(path)) == [f"{path}:6:3: unknown key 'zzzzzz'"]


# --- finding files ----------------------------------------------------------------------------------------


def test_a_directory_is_searched_recursively_for_yaml_and_yml(tmp_path: Path) -> None:
    write(tmp_path, "top.yaml", MANIFEST_HEAD.replace("job-1", "top") + "  name: a\n")
    write(tmp_path, "team/deeper/nested.yml", MANIFEST_HEAD.replace("job-1", "nested") + "  name: b\n")
    write(tmp_path, "team/notes.txt", "not: [a manifest")
    write(tmp_path, "team/data.json", "{")
    write(tmp_path, ".hidden/skipped.yaml", "not: [a manifest")
    entries = validation.load([str(tmp_path)])
    assert sorted(entry.job_id for entry in entries) == ["nested", "top"]


def test_a_missing_path_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert shown(problems_of(missing)) == [f"{missing}: no such file or folder"]


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", MANIFEST_HEAD + "  description: " + "x" * 200 + "\n")
    with pytest.raises(errors.ManifestErrors) as raised:
        validation.load([str(path)], max_bytes=100)
    (problem,) = raised.value.problems
    assert str(problem.position) == f"{path}:1:1"
    assert "over the limit of 100" in problem.message


def test_a_file_that_grows_while_read_is_read_no_further_than_the_limit() -> None:
    """What a file says its size is and what it holds can differ (it is being written): a pipe stands in for it."""
    reading, writing = os.pipe()
    try:
        os.write(writing, b"x" * 500)
        os.close(writing)
        assert limits._read_at_most(reading, 10, 100) == b"x" * 101  # one past the limit: seen to be too large
    finally:
        os.close(reading)


def test_a_read_that_returns_less_than_the_file_is_not_taken_for_the_whole_file() -> None:
    """A read may return less than asked (a signal, a network or FUSE file system): cutting the file there
    could drop a later document's job, which --prune would then take for an orphan."""
    reading, writing = os.pipe()

    def rest() -> None:
        time.sleep(0.05)
        os.write(writing, b"def")
        os.close(writing)

    os.write(writing, b"abc")
    later = threading.Thread(target=rest)
    later.start()
    try:
        assert limits._read_at_most(reading, 6, 100) == b"abcdef"
    finally:
        later.join()
        os.close(reading)


def test_parsing_leaves_no_cycle_for_the_collector(tmp_path: Path) -> None:
    """The CLI prepares with the collector off: whatever a parse leaves as a cycle would stay for the run."""
    for index in range(20):
        write(tmp_path, f"job-{index}.yaml", MANIFEST_HEAD.replace("job-1", f"job-{index}") + "  name: x\n")
    write(tmp_path, "anchored.yaml", MANIFEST_HEAD.replace("job-1", "job-a") + "  name: &n x\n  description: *n\n")
    gc.collect()
    gc.disable()
    try:
        documents, problems = loading.load([str(tmp_path)])
    finally:
        gc.enable()
    assert len(documents) == 21
    assert problems == []
    assert gc.collect() == 0


def test_a_file_as_large_as_it_says_is_read_whole(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", MANIFEST_HEAD)
    assert limits.read_text(path, max_bytes=len(MANIFEST_HEAD.encode())) == MANIFEST_HEAD


def test_each_share_is_handed_over_before_the_problems_of_every_file(tmp_path: Path) -> None:
    write(tmp_path, "a-good.yaml", MANIFEST_HEAD + "  name: fine\n")
    write(tmp_path, "b-bad.yaml", MANIFEST_HEAD.replace("job-1", "job-2") + "  nmae: typo\n")
    handed: list[validation.Entry] = []

    def take_every_share() -> None:
        for share in validation.shares([str(tmp_path)], keep_data=False):
            handed.extend(share)

    with pytest.raises(errors.ManifestErrors) as raised:
        take_every_share()
    assert [(entry.job_id, entry.document.data) for entry in handed] == [("job-1", None)]
    assert [problem.message for problem in raised.value.problems] == ["unknown key 'nmae' (did you mean 'name'?)"]


def test_an_unset_reference_is_reported_only_once_every_manifest_is_valid(tmp_path: Path) -> None:
    """Desired states are built share by share, before validation has seen every file; what building finds
    (a variable not set) must not be reported beside, or instead of, a manifest error elsewhere."""
    from reconciler import pipeline

    write(tmp_path, "a-refs.yaml", MANIFEST_HEAD + "  params:\n    app: {apiKey: '${env:UNSET_KEY}'}\n")
    bad = write(tmp_path, "b-bad.yaml", MANIFEST_HEAD.replace("job-1", "job-2") + "  nmae: typo\n")
    with pytest.raises(errors.ManifestErrors) as raised:
        pipeline.prepare([str(tmp_path)], {})
    assert [problem.message for problem in raised.value.problems] == ["unknown key 'nmae' (did you mean 'name'?)"]
    bad.unlink()
    with pytest.raises(errors.ManifestErrors) as raised:
        pipeline.prepare([str(tmp_path)], {})
    assert [problem.message for problem in raised.value.problems] == ["environment variable UNSET_KEY is not set"]


def test_an_empty_file_holds_no_job(tmp_path: Path) -> None:
    assert validation.load([str(write(tmp_path, "empty.yaml", "# nothing yet\n"))]) == []


# --- valid manifests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[str(path.relative_to(EXAMPLES)) for path in EXAMPLE_FILES])
def test_every_example_validates(path: Path) -> None:
    entries = validation.load([str(path)])
    assert entries
    for entry in entries:
        assert entry.source.startswith(f"{path}:")
        assert jobs.from_manifest(entry.manifest).units


def test_the_examples_together_have_distinct_ids() -> None:
    entries = validation.load([str(EXAMPLES)])
    assert len(entries) == 7
    assert len({entry.job_id for entry in entries}) == 7


def test_a_key_derives_a_stable_uuid5() -> None:
    (entry,) = validation.load([str(EXAMPLES / "analytics" / "daily-rollup.yaml")])
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.bytenite.io/job-key")
    assert entry.job_id == str(uuid.uuid5(namespace, "analytics/daily-gcs-rollup"))


def test_references_are_valid_where_credentials_go(tmp_path: Path) -> None:
    source = (
        "  dataSource:\n    dataSourceDescriptor: url\n    params:\n"
        "      url: ${env:PROMPTS_URL}\n      password: ${env:PROMPTS_PASSWORD}\n"
        "  params:\n    app: {apiKey: '${env:APP_KEY}', tokens: ['${env:T1}']}\n"
    )
    (entry,) = validation.load([str(write(tmp_path, "refs.yaml", MANIFEST_HEAD + source))])
    assert entry.manifest.spec.params is not None


# --- known bugs --------------------------------------------------------------------------------------------


def _json_clean(value: Any) -> bool:
    """Whether a value can be sent as a protobuf Struct: JSON with string keys and finite numbers only."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _json_clean(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_json_clean(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


@pytest.mark.parametrize(
    "value",
    ["since: 2024-01-01", "blob: !!binary aGVsbG8=", "tags: !!set {a, b}", "ratio: .nan", "limit: .inf", "m: {1: one}"],
)
def test_params_hold_only_json_or_are_refused(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, "struct.yaml", MANIFEST_HEAD + f"  params:\n    app:\n      {value}\n")
    try:
        entries = validation.load([str(path)])
    except errors.ManifestErrors as error:
        refused_at = [problem.position.line for problem in error.problems]
    else:
        refused_at = []
    if refused_at:
        assert refused_at == [8]
        return
    units = jobs.from_manifest(entries[0].manifest).units
    assert _json_clean(units["params.app"])
    json.dumps(units, allow_nan=False)


def test_a_numeric_literal_credential_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "pin.yaml", MANIFEST_HEAD + "  params:\n    app:\n      password: 123456\n")
    assert shown(problems_of(path)) == [
        f"{path}:8:7: password holds a literal credential: reference it instead, as ${{env:NAME}}"
    ]


def test_a_literal_below_a_credential_key_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "nested.yaml", MANIFEST_HEAD + "  params:\n    app:\n      apiKey:\n        value: sk-live\n"
    )
    problems = problems_of(path)
    assert [problem.position.line for problem in problems] == [9]
    assert "literal credential" in problems[0].message


def test_a_document_that_is_not_a_mapping_is_reported_plainly(tmp_path: Path) -> None:
    path = write(tmp_path, "list.yaml", "- just a list\n")
    (problem,) = problems_of(path)
    assert str(problem.position) == f"{path}:1:1"
    assert problem.message == "must be a mapping, got a list"


def test_a_timeout_beyond_int64_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.yaml", MANIFEST_HEAD + f"  config:\n    taskTimeout: {2**63}\n")
    (problem,) = problems_of(path)
    assert str(problem.position) == f"{path}:7:5"
