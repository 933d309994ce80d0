"""Crypto (data.crypto), run through the engine; digests are checked against published test vectors."""

from __future__ import annotations

import string
import uuid
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.crypto"
FOX = "The quick brown fox jumps over the lazy dog"


def crypto(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("Crypto", TYPE, parameters)], [("Start", "Crypto")])
    return run(data, items)


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("md5", "9e107d9d372bb6826bd81d3542a419d6"),
        ("sha1", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
        ("sha256", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
        (
            "sha384",
            "ca737f1014a48f4c0b6dd43cb177b0afd9e5169367544c494011e3317dbf9a509cb1e5dc1e85a941bbee3d7f2afbc9b1",
        ),
        (
            "sha512",
            "07e547d9586f6a73f73fbac0435ed76951218fb7d0c8d788a309d785436bbb642e93a252a954f23912547d1e8a3b5ed6e1bfd7097821"
            "233fa0538f3db854fee6",
        ),
    ],
)
def test_hash_of_an_expression_value_in_hex(algorithm: str, digest: str) -> None:
    result = crypto([{"text": FOX, "id": 1}], value="{{ $json.text }}", algorithm=algorithm)

    assert output_json(result, "Crypto") == [{"text": FOX, "id": 1, "data": digest}]
    assert result.last_outputs["Crypto"][0][0].paired_item == 0


def test_hash_in_base64_per_item_into_a_nested_field() -> None:
    result = crypto(
        [{"email": "abc"}, {"email": ""}],
        value="{{ $json.email }}",
        encoding="base64",
        output_field="hashes.email",
    )

    assert [row["hashes"]["email"] for row in output_json(result, "Crypto")] == [
        "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    ]


def test_an_object_value_is_hashed_as_canonical_json() -> None:
    result = crypto(
        [{"payload": {"b": 2, "a": 1}}, {"payload": {"a": 1, "b": 2}}, {"payload": [1]}],
        value="{{ $json.payload }}",
        algorithm="md5",
    )

    first, second, third = (row["data"] for row in output_json(result, "Crypto"))
    assert first == second == "608de49a4600dbb5b173492759792e4a"  # md5 of '{"a":1,"b":2}'
    assert third != first


def test_hmac_matches_the_published_vector() -> None:
    result = crypto([{"body": FOX}], action="hmac", value="{{ $json.body }}", secret="key", output_field="signature")

    assert output_json(result, "Crypto")[0]["signature"] == (
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_hmac_md5_in_base64() -> None:
    result = crypto([{}], action="hmac", algorithm="md5", value=FOX, secret="key", encoding="base64")

    # Base64 of the published hex digest 80070713463e7749b90c2dc24911e275.
    assert output_json(result, "Crypto")[0]["data"] == "gAcHE0Y+d0m5DC3CSRHidQ=="


def test_generate_uuid4_gives_a_fresh_version_4_uuid_per_item() -> None:
    result = crypto([{"n": 1}, {"n": 2}], action="generate", output_field="id")

    ids = [row["id"] for row in output_json(result, "Crypto")]
    assert [uuid.UUID(value).version for value in ids] == [4, 4]
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("charset", "alphabet"),
    [("alphanumeric", string.ascii_letters + string.digits), ("hex", "0123456789abcdef"), ("numeric", string.digits)],
)
def test_generate_random_string_of_length_and_charset(charset: str, alphabet: str) -> None:
    result = crypto([{}, {}], action="generate", generate="random_string", length=40, charset=charset)

    values = [row["data"] for row in output_json(result, "Crypto")]
    assert all(len(value) == 40 and set(value) <= set(alphabet) for value in values)
    assert values[0] != values[1]


def test_a_null_value_fails_naming_the_item() -> None:
    result = crypto([{"email": "a@x"}, {"name": "no email"}], value="{{ $json.email }}")

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Crypto" and result.error["item_index"] == 1
    assert result.error["message"] == "item 1: there is no value to hash (it is null)"


def test_hmac_without_a_secret_fails() -> None:
    result = crypto([{"a": 1}], action="hmac", value="x")

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert result.error["message"] == "item 0: the HMAC secret is empty"


def test_a_random_string_length_out_of_range_is_refused() -> None:
    result = crypto([{}], action="generate", generate="random_string", length=0)

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["message"].startswith("parameter 'length', item 0:")
