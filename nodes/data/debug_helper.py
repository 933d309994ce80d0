"""Debug Helper: pass items through, fail on purpose, or generate random test data (reproducible with a seed)."""

from __future__ import annotations

import ipaddress
import random
import string
import uuid
from datetime import date, timedelta
from typing import Any, Literal

from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

THROW = {"operation": ["throw_error"]}
RANDOM = {"operation": ["random_data"]}
Kind = Literal["users", "addresses", "uuids", "numbers", "lorem", "nanoid", "ip_addresses", "credit_cards"]

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ben", "Carla", "Chen", "Dario", "Elena", "Farah", "Grace", "Hugo", "Ines", "Jonas",
    "Kenji", "Lena", "Marta", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wei",
    "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen", "Kim",
    "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Vidal",
    "Weber", "Xu", "Yilmaz", "Zimmermann",
)  # fmt: skip
# Reserved for examples (RFC 2606), so generated addresses never reach a real person.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
STREETS = ("Maple", "Oak", "Cedar", "Elm", "Willow", "Birch", "Harbour", "Mill", "Station", "Church", "Park", "Lake")
STREET_KINDS = ("Street", "Avenue", "Road", "Lane", "Way", "Drive")
CITIES = (
    ("Springfield", "United States"), ("Riverton", "United States"), ("Lakeside", "Canada"),
    ("Fairview", "Canada"), ("Newport", "United Kingdom"), ("Ashford", "United Kingdom"),
    ("Bergdorf", "Germany"), ("Villeneuve", "France"), ("Monteverde", "Italy"), ("Nordby", "Denmark"),
)  # fmt: skip
LOREM = (
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor",
    "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam", "quis",
    "nostrud", "exercitation", "ullamco", "laboris", "nisi", "aliquip", "ex", "ea", "commodo", "consequat", "duis",
    "aute", "irure", "in", "reprehenderit", "voluptate", "velit", "esse", "cillum", "fugiat", "nulla", "pariatur",
    "excepteur", "sint", "occaecat", "cupidatat", "non", "proident", "sunt", "culpa", "qui", "officia", "deserunt",
    "mollit", "anim", "id", "est", "laborum",
)  # fmt: skip
NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"
CARD_BRANDS: dict[str, tuple[tuple[str, ...], int]] = {
    "visa": (("4",), 16),
    "mastercard": (("51", "52", "53", "54", "55"), 16),
    "amex": (("34", "37"), 15),
}


class DebugHelperParameters(Parameters):
    operation: Literal["do_nothing", "throw_error", "random_data"] = param(
        "do_nothing",
        title="Operation",
        description="do_nothing: pass the items on; throw_error: fail on purpose; random_data: generate test items.",
        no_expressions=True,
    )
    error_type: Literal["node_error", "exception"] = param(
        "node_error",
        title="Error type",
        description="node_error: a node error with your message; exception: an unexpected Python exception.",
        show_if=THROW,
        no_expressions=True,
    )
    message: str = param("Node has thrown an error", title="Error message", show_if=THROW)
    kind: Kind = param(
        "users",
        title="Data",
        description="users: name, email, birthday; credit_cards: numbers that pass the Luhn check, marked as test "
        "data.",
        show_if=RANDOM,
        no_expressions=True,
    )
    count: int = param(10, title="Count", ge=1, le=10000, show_if=RANDOM)
    seed: int | None = param(
        None,
        title="Seed",
        description="The same seed gives the same data; empty for new data each run.",
        show_if=RANDOM,
    )
    minimum: int = param(0, title="Minimum", show_if={"kind": ["numbers"], **RANDOM})
    maximum: int = param(100, title="Maximum", show_if={"kind": ["numbers"], **RANDOM})
    sentences: int = param(3, title="Sentences", ge=1, le=100, show_if={"kind": ["lorem"], **RANDOM})
    nanoid_length: int = param(21, title="Length", ge=2, le=256, show_if={"kind": ["nanoid"], **RANDOM})
    ip_version: Literal["v4", "v6"] = param("v4", title="IP version", show_if={"kind": ["ip_addresses"], **RANDOM})
    single_item: bool = param(
        False,
        title="Return one item with a list",
        description="Otherwise one item per generated record.",
        show_if=RANDOM,
    )
    output_field: str = param(
        "data",
        title="Field for the list",
        show_if={"single_item": [True], **RANDOM},
        no_expressions=True,
        min_length=1,
    )


class DebugHelperNode(Node):
    type = "data.debug_helper"
    display_name = "Debug Helper"
    category = Category.DATA
    description = "Passes items on, fails on purpose, or generates random test data for building and testing workflows."
    icon = "bug"
    Parameters = DebugHelperParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: DebugHelperParameters = ctx.params(0)
        if params.operation == "do_nothing":
            return [items]
        if params.operation == "throw_error":
            if params.error_type == "exception":
                raise RuntimeError(params.message)
            raise NodeError(params.message, description="The Debug Helper node is set to throw this error.")
        if params.kind == "numbers" and params.minimum > params.maximum:
            raise NodeError(
                f"the minimum {params.minimum} is above the maximum {params.maximum}",
                description="Set Minimum to at most Maximum.",
            )
        rng = random.Random(params.seed)
        records = [_record(rng, params) for _ in range(params.count)]
        if params.single_item:
            return [[Item({params.output_field.strip(): records}, paired_item=0)]]
        return [[Item(record, paired_item=0) for record in records]]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def luhn_check_digit(digits: str) -> str:
    """The digit that makes ``digits`` + it pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str(-total % 10)


def _card(rng: random.Random) -> dict[str, Any]:
    brand = rng.choice(sorted(CARD_BRANDS))
    prefixes, length = CARD_BRANDS[brand]
    body = rng.choice(prefixes)
    body += "".join(rng.choice(string.digits) for _ in range(length - 1 - len(body)))
    return {
        "number": body + luhn_check_digit(body),
        "brand": brand,
        "expiry": f"{rng.randint(1, 12):02d}/{rng.randint(30, 39)}",
        "cvc": "".join(rng.choice(string.digits) for _ in range(4 if brand == "amex" else 3)),
        "test": True,
    }


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(LOREM) for _ in range(rng.randint(6, 14))]
    return " ".join(words).capitalize() + "."


def _record(rng: random.Random, params: DebugHelperParameters) -> dict[str, Any]:
    kind = params.kind
    if kind == "users":
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        birthday = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        return {
            "id": _uuid(rng),
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}",
            "birthday": birthday.isoformat(),
        }
    if kind == "addresses":
        city, country = rng.choice(CITIES)
        return {
            "street": f"{rng.randint(1, 999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}",
            "city": city,
            "postcode": f"{rng.randint(0, 99999):05d}",
            "country": country,
        }
    if kind == "uuids":
        return {"uuid": _uuid(rng)}
    if kind == "numbers":
        return {"number": rng.randint(params.minimum, params.maximum)}
    if kind == "lorem":
        return {"text": " ".join(_sentence(rng) for _ in range(params.sentences))}
    if kind == "nanoid":
        return {"nanoid": "".join(rng.choice(NANOID_ALPHABET) for _ in range(params.nanoid_length))}
    if kind == "ip_addresses":
        if params.ip_version == "v6":
            return {"ip": str(ipaddress.IPv6Address(rng.getrandbits(128))), "version": 6}
        return {"ip": str(ipaddress.IPv4Address(rng.getrandbits(32))), "version": 4}
    return _card(rng)
