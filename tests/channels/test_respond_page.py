"""The confirmation page behind personal links: shows without deciding, decides once, refuses bad links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from hitl_studio.approvals.form_render import parse_form, render_fields
from hitl_studio.channels import links
from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, ApprovalStatus, Delivery, EventSource
from hitl_studio.models.users import Role, User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import ApprovalInput, Decider
from hitl_studio.settings import Settings
from tests.channels import API_URL, app, events
from tests.factories import make_user


@pytest.fixture
def client(database: Settings, configure: Callable[..., Settings]) -> TestClient:
    configure(HITL_API_URL=API_URL)
    return TestClient(app())


def linked(approver: User, *, expires_at: datetime | None = None, **fields: object) -> tuple[Approval, str]:
    """A request for ``approver`` and a personal email link to it (no mail needed)."""
    data = {"title": "Delete 3 inactive accounts?", "approvers": [approver.email], "channels": ["email"], **fields}
    approval = approvals.create_approval(ApprovalInput(**data), requested_by=None)  # type: ignore[arg-type]
    with session_scope() as session:
        delivery = Delivery(
            approval_id=approval.id, channel="email", recipient=approver.email, meta={"user": approver.email}
        )
        session.add(delivery)
    return approval, links.make_link(approval, approver.email, delivery.id, expires_at=expires_at)


def status(approval: Approval) -> str:
    with session_scope() as session:
        row = session.get(Approval, approval.id)
        assert row is not None
        return row.status


def test_opening_the_link_shows_the_request_and_never_decides(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(
        ana,
        description="They have not logged in for 2 years.",
        action_type="users.delete",
        action_data={"ids": [7, 8, 9]},
    )

    for _ in range(3):  # a mail scanner, a link preview, the person
        shown = client.get(link)
        assert shown.status_code == 200

    page = shown.text
    assert "Delete 3 inactive accounts?" in page and "They have not logged in for 2 years." in page
    assert "users.delete" in page and '"ids"' in page.replace("&quot;", '"')
    assert "<form method='post'>" in page and "<label for='feedback'>" in page
    assert "value='approve'" in page and "value='reject'" in page and "<html lang='en'>" in page
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"
    assert status(approval) == ApprovalStatus.PENDING
    assert not [event for event in events(approval.id) if event.type.startswith("decision.")]


def test_posting_the_form_decides_once_and_a_reused_link_is_refused(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)

    answered = client.post(link, data={"decision": "approve", "feedback": "  fine  "})

    assert answered.status_code == 200 and "Request approved" in answered.text
    assert status(approval) == ApprovalStatus.APPROVED
    (decision,) = events(approval.id, "decision.approved")
    assert decision.source == EventSource.EMAIL and decision.actor == ana.email and decision.data["feedback"] == "fine"
    again = client.post(link, data={"decision": "reject"})
    assert again.status_code in (409, 410)
    assert status(approval) == ApprovalStatus.APPROVED
    assert client.get(link).status_code == 410


def test_a_used_link_on_a_pending_request_is_refused_and_logged(client: TestClient) -> None:
    ana, bob = make_user(Role.APPROVER), make_user(Role.APPROVER)
    approval, link = linked(ana, approvers=[ana.email, bob.email], quorum=2)
    assert client.post(link, data={"decision": "approve"}).status_code == 200
    assert status(approval) == ApprovalStatus.PENDING  # one of two approvals

    reused = client.post(link, data={"decision": "approve"})

    assert reused.status_code == 410 and "already been used" in reused.text
    refused = events(approval.id, "decision.refused")
    assert [event.data["reason"] for event in refused] == ["link already used"]
    assert client.get(link).status_code == 410


@pytest.mark.parametrize("tamper", ["signature", "delivery", "garbage"])
def test_forged_links_are_404_pages_and_decide_nothing(client: TestClient, tamper: str) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)
    base, token = link.rsplit("/", 1)
    delivery_id, expiry, nonce, signature = token.split(".")
    forged = {
        "signature": f"{delivery_id}.{expiry}.{nonce}.{('A' if signature[0] != 'A' else 'B')}{signature[1:]}",
        "delivery": f"{delivery_id[:-1]}{'0' if delivery_id[-1] != '0' else '1'}.{expiry}.{nonce}.{signature}",
        "garbage": "not-a-token",
    }[tamper]

    assert client.get(f"{base}/{forged}").status_code == 404
    answered = client.post(f"{base}/{forged}", data={"decision": "approve"})

    assert answered.status_code == 404 and "not valid" in answered.text
    assert status(approval) == ApprovalStatus.PENDING
    assert client.get(link).status_code == 200  # the real link still works


def test_an_expired_link_is_a_410_page(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    shown = client.get(link)
    answered = client.post(link, data={"decision": "approve"})

    assert shown.status_code == 410 and "expired" in shown.text
    assert answered.status_code == 410 and status(approval) == ApprovalStatus.PENDING
    assert [event.data["reason"] for event in events(approval.id, "decision.refused")] == ["expired link"]


def test_a_link_replaced_by_a_resent_message_no_longer_works(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, old = linked(ana)
    delivery_id = old.rsplit("/", 1)[1].split(".")[0]
    new = links.make_link(approval, ana.email, delivery_id)

    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_a_request_decided_elsewhere_shows_409_and_keeps_the_link_unused(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)
    approvals.decide(approval.id, "reject", Decider(ana, EventSource.STUDIO))

    shown = client.get(link)
    answered = client.post(link, data={"decision": "approve"})

    assert shown.status_code == 409 and "already rejected" in shown.text
    assert answered.status_code == 409 and status(approval) == ApprovalStatus.REJECTED


def test_a_form_without_a_decision_is_400_and_does_not_use_the_link(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)

    assert client.post(link, data={"decision": "maybe"}).status_code == 400
    assert client.post(link, data={"decision": "approve", "feedback": "x" * 5001}).status_code == 400

    assert client.post(link, data={"decision": "approve"}).status_code == 200
    assert status(approval) == ApprovalStatus.APPROVED


def test_a_link_of_someone_no_longer_an_approver_is_refused(client: TestClient) -> None:
    ana, bob = make_user(Role.APPROVER), make_user(Role.APPROVER)
    approval, link = linked(ana)
    with session_scope() as session:
        row = session.get(Approval, approval.id)
        assert row is not None
        row.approvers = [bob.email]  # as after an escalation to another tier
        session.add(row)

    answered = client.post(link, data={"decision": "approve"})

    assert answered.status_code == 403 and status(approval) == ApprovalStatus.PENDING


EDIT_SCHEMA = {
    "type": "object",
    "x-order": ["amount", "note", "urgent", "category"],  # PostgreSQL's JSONB does not keep key order
    "required": ["amount", "category"],
    "properties": {
        "amount": {"type": "number", "maximum": 100, "title": "Refund amount", "description": "In euros."},
        "note": {"type": "string", "default": "<b>as agreed</b>"},
        "urgent": {"type": "boolean"},
        "category": {"type": "string", "enum": ["refund", "credit", "goodwill"]},
    },
}


def edit_form(**fields: object) -> dict[str, object]:
    return {f"field.{key}": value for key, value in fields.items()}


def control(page: str, field_id: str) -> str:
    """The opening tag of the control with id ``field_id`` (the page uses single-quoted attributes)."""
    start = page.index(f"id='{field_id}'")
    return page[page.rindex("<", 0, start) : page.index(">", start) + 1]


def test_a_request_with_a_form_shows_its_fields_prefilled(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, ui_schema=EDIT_SCHEMA, action_data={"amount": 35, "category": "credit", "order": 9})

    shown = client.get(link)

    assert shown.status_code == 200
    page = shown.text
    amount = control(page, "field-amount")
    assert "type='number'" in amount and "name='field.amount'" in amount and "value='35'" in amount
    assert "max='100'" in amount and " required" in amount and "aria-describedby='field-amount-help'" in amount
    assert "<label for='field-amount'>Refund amount" in page and "In euros." in page
    note = control(page, "field-note")  # not in action_data: the schema's default, escaped
    assert "type='text'" in note and "value='&lt;b&gt;as agreed&lt;/b&gt;'" in note and "<b>as agreed" not in page
    urgent = control(page, "field-urgent")
    assert "type='checkbox'" in urgent and "checked" not in urgent
    assert "<select id='field-category' name='field.category'" in page
    assert "<option value='credit' selected>credit</option>" in page and "<option value='refund'>" in page
    order = [page.index(f"name='field.{key}'") for key in ("amount", "note", "urgent", "category")]
    assert order == sorted(order) and order[-1] < page.index("value='approve'")  # x-order, then the buttons
    assert "formnovalidate" in page.split("value='reject'")[1].split(">")[0]
    assert status(approval) == ApprovalStatus.PENDING


def test_an_invalid_form_is_shown_again_with_its_errors_and_the_link_still_works(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, ui_schema=EDIT_SCHEMA, action_data={"amount": 35, "category": "credit"})
    sent = {"decision": "approve", "feedback": "see note", **edit_form(amount="500", note="half now", urgent="true")}
    sent["field.category"] = "credit"

    answered = client.post(link, data=sent)

    assert answered.status_code == 422
    page = answered.text
    amount = control(page, "field-amount")
    assert "value='500'" in amount and "aria-invalid='true'" in amount and "field-amount-error" in amount
    error = page[page.index("id='field-amount-error'") :].split("</p>", 1)[0]
    assert (
        "500 is greater than the maximum of 100" in error
        and "field-error" in page.split("id='field-amount-error'")[0][-40:]
    )
    assert ".field-error{color:#b91c1c" in page  # red
    assert "aria-invalid" not in control(page, "field-note") and "value='half now'" in control(page, "field-note")
    assert "checked" in control(page, "field-urgent") and "<option value='credit' selected>" in page
    assert ">see note</textarea>" in page and "role='alert'" in page and "href='#field-amount'" in page
    assert status(approval) == ApprovalStatus.PENDING
    assert not events(approval.id, "decision.refused")

    assert client.get(link).status_code == 200  # not redeemed: correct and send again
    fixed = client.post(link, data={**sent, "field.amount": "35"})

    assert fixed.status_code == 200 and "Request approved" in fixed.text
    assert status(approval) == ApprovalStatus.APPROVED


def test_approving_with_edits_records_typed_response_data(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, ui_schema=EDIT_SCHEMA, action_data={"amount": 80, "category": "refund"})
    sent = {"decision": "approve", **edit_form(amount="35", note="Half now, half later", urgent="true")}
    sent["field.category"] = "goodwill"

    answered = client.post(link, data=sent)

    assert answered.status_code == 200 and "Request approved" in answered.text
    expected = {"amount": 35, "note": "Half now, half later", "urgent": True, "category": "goodwill"}
    with session_scope() as session:
        row = session.get(Approval, approval.id)
        assert row is not None and row.status == ApprovalStatus.APPROVED
        assert row.response_data == expected and isinstance(row.response_data["urgent"], bool)
    (decision,) = events(approval.id, "decision.approved")
    assert decision.data["response_data"] == expected and decision.source == EventSource.EMAIL
    assert client.post(link, data=sent).status_code in (409, 410)  # used once


def test_an_unchecked_box_is_false_and_a_blank_optional_field_is_left_out(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, ui_schema=EDIT_SCHEMA)

    answered = client.post(link, data={"decision": "approve", **edit_form(amount="12.5", note="", category="credit")})

    assert answered.status_code == 200
    with session_scope() as session:
        row = session.get(Approval, approval.id)
        assert row is not None
        assert row.response_data == {"amount": 12.5, "urgent": False, "category": "credit"}


def test_a_field_that_does_not_read_is_an_error_next_to_it(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, ui_schema=EDIT_SCHEMA)

    answered = client.post(link, data={"decision": "approve", **edit_form(amount="lots", category="")})

    assert answered.status_code == 422
    assert "Enter a number." in answered.text.split("id='field-amount-error'")[1].split("</p>")[0]
    assert "This field is required." in answered.text.split("id='field-category-error'")[1].split("</p>")[0]
    assert "value='lots'" in control(answered.text, "field-amount")
    assert status(approval) == ApprovalStatus.PENDING and client.get(link).status_code == 200


def test_reject_ignores_the_form_fields(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, ui_schema=EDIT_SCHEMA, action_data={"amount": 35, "category": "credit"})

    answered = client.post(link, data={"decision": "reject", "feedback": "no", **edit_form(amount="500")})

    assert answered.status_code == 200 and "Request rejected" in answered.text
    with session_scope() as session:
        row = session.get(Approval, approval.id)
        assert row is not None and row.status == ApprovalStatus.REJECTED
        assert row.response_data is None and row.feedback == "no"


def test_a_request_without_a_form_shows_no_fields(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    _approval, link = linked(ana, action_data={"amount": 35})

    assert "field." not in client.get(link).text


def test_parse_form_types_arrays_json_and_explains_what_does_not_read() -> None:
    schema = {
        "type": "object",
        "required": ["count", "when"],
        "properties": {
            "count": {"type": "integer"},
            "when": {"type": "string", "format": "date"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "meta": {"type": "object"},
            "level": {"enum": [1, 2]},
        },
    }
    sent = [("field.count", "3"), ("field.when", "2030-01-02"), ("field.tags", "a"), ("field.tags", "b")]

    assert parse_form(schema, [*sent, ("field.meta", '{"k": [1]}'), ("field.level", "2")]) == (
        {"count": 3, "when": "2030-01-02", "tags": ["a", "b"], "meta": {"k": [1]}, "level": 2},
        {},
    )
    data, errors = parse_form(schema, {"field.count": "1.5", "field.meta": "{oops", "field.level": "9"})
    assert data == {"tags": []}
    assert errors["count"] == "Enter a whole number." and errors["when"] == "This field is required."
    assert errors["meta"].startswith("Not valid JSON: ") and "line 1, column 2" in errors["meta"]
    assert errors["level"] == "Choose one of the listed options."


def test_render_fields_picks_a_control_per_type_and_escapes_everything() -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date"},
            "mail": {"type": "string", "format": "email"},
            "story": {"type": "string", "maxLength": 1000, "title": "<i>Story</i>"},
            "tags": {"type": "array", "items": {"enum": ["a", "<b>"]}},
            "meta": {"type": "object", "description": "Extra & more"},
        },
    }

    page = render_fields(schema, {"story": "\nline</textarea>", "tags": ["<b>"], "meta": {"k": "<v>"}})

    assert "type='date'" in page and "type='email'" in page
    assert "<textarea id='field-story' name='field.story' maxlength='1000'>\n\nline&lt;/textarea&gt;</textarea>" in page
    assert "&lt;i&gt;Story&lt;/i&gt;" in page and "<i>" not in page and "<b>" not in page
    assert "value='&lt;b&gt;' checked" in page and "value='a'>" in page
    assert "Extra &amp; more" in page and "&quot;&lt;v&gt;&quot;" in page
