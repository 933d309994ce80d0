"""Date & Time (data.date_time), run through the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.date_time"


def dates(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("Dates", TYPE, parameters)], [("Start", "Dates")])
    return run(data, items)


def one(value: Any, **parameters: Any) -> Any:
    """The result for a single item whose ``value`` field is read by expression."""
    result = dates([{"value": value}], value="{{ $json.value }}", **parameters)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "Dates")[0][parameters.get("output_field", "date")]


def test_now_is_the_current_time_in_the_timezone() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    result = dates([{"id": 1}], operation="now", timezone="Asia/Tokyo", output_field="meta.at")
    after = datetime.now(UTC)

    (row,) = output_json(result, "Dates")
    moment = datetime.fromisoformat(row["meta"]["at"])
    assert row["id"] == 1
    assert moment.utcoffset() == timedelta(hours=9)
    assert before <= moment <= after
    assert result.last_outputs["Dates"][0][0].paired_item == 0


def test_now_as_a_unix_timestamp() -> None:
    before = int(datetime.now(UTC).timestamp())
    stamp = output_json(dates([{}], operation="now", format="unix"), "Dates")[0]["date"]

    assert isinstance(stamp, int) and before <= stamp <= int(datetime.now(UTC).timestamp())


@pytest.mark.parametrize(
    ("value", "parameters", "expected"),
    [
        ("2024-03-10T12:00:00Z", {"timezone": "America/New_York", "format": "%d/%m %H:%M %Z"}, "10/03 08:00 EDT"),
        ("2024-01-15T09:30:00", {"timezone": "Europe/Paris"}, "2024-01-15T09:30:00+01:00"),
        (1700000000, {}, "2023-11-14T22:13:20+00:00"),
        (1700000000000, {}, "2023-11-14T22:13:20+00:00"),
        ("1700000000", {"format": "date"}, "2023-11-14"),
        ("Tue, 14 Nov 2023 22:13:20 +0000", {"format": "datetime"}, "2023-11-14 22:13:20"),
        ("14/11/2023", {"from_format": "%d/%m/%Y", "format": "unix"}, 1699920000),
        ("2023-11-14T22:13:20.250+01:00", {"format": "unix_ms"}, 1699996400250),
        ("2023-11-14T22:13:20+00:00", {"format": "time", "timezone": "Asia/Kolkata"}, "03:43:20"),
    ],
)
def test_format_reads_common_inputs_and_writes_presets_or_strftime(
    value: Any, parameters: dict[str, Any], expected: Any
) -> None:
    assert one(value, operation="format", **parameters) == expected


def test_add_and_subtract_use_the_calendar_for_days_and_elapsed_time_for_hours() -> None:
    paris = {"timezone": "Europe/Paris"}

    assert one("2024-01-31", operation="add", amount=1, unit="months") == "2024-02-29T00:00:00+00:00"
    assert one("2024-02-29T10:00:00Z", operation="subtract", amount=1, unit="years") == "2023-02-28T10:00:00+00:00"
    # The night of 30-31 March 2024 is one hour short in Paris.
    assert one("2024-03-30T12:00:00", operation="add", amount=1, unit="days", **paris) == "2024-03-31T12:00:00+02:00"
    assert one("2024-03-30T12:00:00", operation="add", amount=24, unit="hours", **paris) == (
        "2024-03-31T13:00:00+02:00"
    )
    assert one("2024-03-31T04:00:00+02:00", operation="subtract", amount=2, unit="hours", **paris) == (
        "2024-03-31T01:00:00+01:00"
    )
    assert one("2024-05-01T00:00:00Z", operation="add", amount=90, unit="seconds") == "2024-05-01T00:01:30+00:00"


def test_the_amount_can_come_from_the_item() -> None:
    result = dates(
        [{"start": "2024-05-01", "days": 3}, {"start": "2024-05-01", "days": 10}],
        operation="add",
        value="{{ $json.start }}",
        amount="{{ $json.days }}",
        unit="days",
        output_field="due",
    )

    assert [row["due"] for row in output_json(result, "Dates")] == [
        "2024-05-04T00:00:00+00:00",
        "2024-05-11T00:00:00+00:00",
    ]


def test_difference_between_two_dates_in_a_unit() -> None:
    def between(start: str, end: str, unit: str, timezone: str = "UTC") -> Any:
        result = dates(
            [{"start": start, "end": end}],
            operation="difference",
            value="{{ $json.start }}",
            end_value="{{ $json.end }}",
            unit=unit,
            timezone=timezone,
        )
        assert result.status is RunStatus.SUCCEEDED, result.error
        return output_json(result, "Dates")[0]["date"]

    assert between("2024-01-01T00:00:00Z", "2024-01-02T12:00:00Z", "days") == 1.5
    assert between("2024-01-01T00:00:00Z", "2024-01-02T12:00:00Z", "hours") == 36
    assert between("2024-01-02", "2024-01-01", "days") == -1
    assert between("2024-03-30T12:00:00", "2024-03-31T12:00:00", "hours", "Europe/Paris") == 23
    assert between("2024-01-31", "2024-03-30", "months") == 1
    assert between("2020-02-29", "2024-02-28", "years") == 3
    assert between("2024-01-01T10:00:00+01:00", "2024-01-01T10:00:00Z", "minutes") == 60


@pytest.mark.parametrize(
    ("part", "expected"),
    [("year", 2024), ("quarter", 2), ("month", 5), ("week", 18), ("day", 1), ("day_of_year", 122), ("weekday", 3)],
)
def test_extract_a_part(part: str, expected: int) -> None:
    assert one("2024-05-01T09:30:15", operation="extract", part=part) == expected


def test_extract_reads_the_date_in_the_timezone() -> None:
    assert one("2024-05-01T23:30:00Z", operation="extract", part="day", timezone="Asia/Tokyo") == 2
    assert one("2024-05-01T23:30:00Z", operation="extract", part="hour", timezone="Asia/Tokyo") == 8


@pytest.mark.parametrize(
    ("value", "unit", "rounding", "expected"),
    [
        ("2024-05-15T13:47:12.5Z", "months", "down", "2024-05-01T00:00:00+00:00"),
        ("2024-05-15T13:47:12.5Z", "years", "down", "2024-01-01T00:00:00+00:00"),
        ("2024-05-15T13:47:12.5Z", "weeks", "down", "2024-05-13T00:00:00+00:00"),
        ("2024-05-15T13:47:12.5Z", "hours", "up", "2024-05-15T14:00:00+00:00"),
        ("2024-05-15T14:00:00Z", "hours", "up", "2024-05-15T14:00:00+00:00"),
        ("2024-05-15T13:47:12.5Z", "days", "nearest", "2024-05-16T00:00:00+00:00"),
        ("2024-05-15T13:47:12.5Z", "minutes", "nearest", "2024-05-15T13:47:00+00:00"),
        ("2024-05-15T13:47:12.5Z", "seconds", "nearest", "2024-05-15T13:47:13+00:00"),
        ("2024-12-20T00:00:00Z", "months", "up", "2025-01-01T00:00:00+00:00"),
    ],
)
def test_round_to_a_unit(value: str, unit: str, rounding: str, expected: str) -> None:
    assert one(value, operation="round", unit=unit, rounding=rounding) == expected


def test_round_down_to_the_day_follows_the_timezones_calendar() -> None:
    assert one("2024-05-15T23:30:00Z", operation="round", unit="days", timezone="Europe/Paris") == (
        "2024-05-16T00:00:00+02:00"
    )


def failure(items: list[dict[str, Any]], **parameters: Any) -> dict[str, Any]:
    result = dates(items, **parameters)
    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == "Dates"
    return result.error


def test_a_value_that_is_not_a_date_fails_naming_the_item() -> None:
    error = failure([{"at": "2024-05-01"}, {"at": "next tuesday"}], value="{{ $json.at }}")

    assert error["item_index"] == 1
    assert error["message"].startswith("item 1: the date 'next tuesday' is not a date; use ISO 8601")


def test_a_missing_date_fails() -> None:
    error = failure([{"other": 1}], value="{{ $json.at }}")

    assert error["item_index"] == 0 and error["message"] == "item 0: the date is empty"


def test_a_date_not_matching_the_input_format_fails() -> None:
    error = failure([{}], value="2024-05-01", from_format="%d/%m/%Y")

    assert error["message"] == "item 0: the date '2024-05-01' does not match the input format '%d/%m/%Y'"


def test_an_unknown_timezone_fails() -> None:
    error = failure([{}], operation="now", timezone="Mars/Olympus")

    assert error["item_index"] == 0 and error["message"].startswith("item 0: unknown timezone 'Mars/Olympus'")


def test_a_format_that_is_no_preset_nor_strftime_fails() -> None:
    error = failure([{}], value="2024-05-01", format="yyyy-MM-dd")

    assert error["message"].startswith("item 0: the format 'yyyy-MM-dd' is neither a preset")


def test_a_fraction_of_a_month_fails() -> None:
    error = failure([{}], operation="add", value="2024-05-01", amount=1.5, unit="months")

    assert error["message"].startswith("item 0: cannot add 1.5 months")


def test_an_unknown_unit_is_refused_by_the_parameters() -> None:
    error = failure([{}], operation="add", value="2024-05-01", unit="fortnights")

    assert error["message"].startswith("parameter 'unit', item 0:")
