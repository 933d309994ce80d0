"""Google Contacts (People API): create, get, list, search, update and delete the contacts of an account."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.google._api import execute, listed
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "search", "update", "delete"]
PersonField = Literal[
    "addresses",
    "biographies",
    "birthdays",
    "calendarUrls",
    "clientData",
    "emailAddresses",
    "events",
    "externalIds",
    "genders",
    "imClients",
    "interests",
    "locales",
    "locations",
    "memberships",
    "metadata",
    "miscKeywords",
    "names",
    "nicknames",
    "occupations",
    "organizations",
    "phoneNumbers",
    "photos",
    "relations",
    "sipAddresses",
    "skills",
    "urls",
    "userDefined",
]
BY_ID = ("get", "update", "delete")
READS = ("create", "get", "get_many", "search", "update")
WRITES = ("create", "update")
DEFAULT_FIELDS = ["names", "emailAddresses", "phoneNumbers", "organizations", "biographies"]
KEPT_PARTS = {
    "names": ("givenName", "middleName", "familyName", "honorificPrefix", "honorificSuffix"),
    "organizations": ("name", "title", "department"),
}
"""The parts of a contact's first name and organization an update keeps when it sets the others."""
MAX_PAGE = 1000
"""The most connections the People API lists per page."""
MAX_SEARCH = 30
"""The most results ``people.searchContacts`` returns; it has no further pages."""
HINTS = {
    400: "Check the contact's fields and the fields to return.",
    403: "A service account has no contacts of its own: set 'Act as user' in the credential (Workspace "
    "domain-wide delegation with the scope https://www.googleapis.com/auth/contacts), and enable the People API.",
    404: "Check the contact's resource name (people/c123...): it may have been deleted.",
}


def resource_name(value: str) -> str:
    """``people/c123`` from ``people/c123`` or the bare ``c123``."""
    value = value.strip()
    return value if value.startswith("people/") else f"people/{value}"


class ContactsParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a contact per item; get one; get_many: one item per contact; search by name, email, "
        "phone or company; update the fields given; delete one.",
        no_expressions=True,
    )
    contact_id: str = param(
        "",
        title="Contact",
        description="Its resource name (people/c123...) or the id after people/.",
        placeholder="{{ $json.resourceName }}",
        show_if={"operation": list(BY_ID)},
    )
    given_name: str = param(
        "", title="First name", description="update: empty keeps it.", show_if={"operation": list(WRITES)}
    )
    family_name: str = param(
        "", title="Last name", description="update: empty keeps it.", show_if={"operation": list(WRITES)}
    )
    emails: list[str] = param(
        default_factory=list,
        title="Emails",
        description="Addresses (a list, or text separated by commas); update: empty keeps them, otherwise they "
        "replace them.",
        show_if={"operation": list(WRITES)},
    )
    phones: list[str] = param(
        default_factory=list,
        title="Phone numbers",
        description="Numbers (a list, or text separated by commas); update: empty keeps them, otherwise they "
        "replace them.",
        show_if={"operation": list(WRITES)},
    )
    company: str = param(
        "", title="Company", description="update: empty keeps it.", show_if={"operation": list(WRITES)}
    )
    job_title: str = param(
        "", title="Job title", description="update: empty keeps it.", show_if={"operation": list(WRITES)}
    )
    notes: str = param(
        "",
        title="Notes",
        description="update: empty keeps them.",
        widget="textarea",
        show_if={"operation": list(WRITES)},
    )
    query: str = param(
        "",
        title="Search",
        description="The start of a name, email address, phone number or company.",
        show_if={"operation": ["search"]},
    )
    fields: list[PersonField] = param(
        default_factory=lambda: list(DEFAULT_FIELDS),
        title="Fields to return",
        description="The parts of each contact Google returns (personFields, or readMask for search).",
        show_if={"operation": list(READS)},
        no_expressions=True,
        min_length=1,
    )
    sort_order: Literal[
        "LAST_MODIFIED_ASCENDING", "LAST_MODIFIED_DESCENDING", "FIRST_NAME_ASCENDING", "LAST_NAME_ASCENDING"
    ] = param(
        "LAST_MODIFIED_ASCENDING",
        title="Sort by",
        show_if={"operation": ["get_many"]},
        advanced=True,
        no_expressions=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' contacts.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many contacts per item (search: at most 30).",
        show_if={"operation": ["get_many", "search"], "return_all": [False]},
        ge=1,
    )

    @field_validator("emails", "phones", mode="before")
    @classmethod
    def _entries(cls, value: Any) -> Any:
        return listed(value)

    @model_validator(mode="after")
    def _needs(self) -> ContactsParameters:
        if self.operation in BY_ID and not self.contact_id.strip().removeprefix("people/"):
            raise ValueError(f"{self.operation} needs a contact's resource name")
        if self.operation == "create" and not (self.given_name.strip() or self.family_name.strip()):
            raise ValueError("create needs a first or last name")
        if self.operation == "update" and not _changes(self):
            raise ValueError("update needs at least one field to change")
        if self.operation == "search" and not self.query.strip():
            raise ValueError("search needs words to search for")
        return self


class ContactsNode(Node):
    type = "google.contacts"
    display_name = "Google Contacts"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, searches, updates or deletes Google Contacts through the People API."
    icon = "contact"
    Parameters = ContactsParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "people", "v1")
        people = service.people()
        warmed = False
        produced: list[Item] = []
        for index in range(len(items)):
            params: ContactsParameters = ctx.params(index)
            if params.operation == "search" and not warmed:
                # Google asks for an empty search first: it refreshes the search cache, else results lag behind.
                warm_up = people.searchContacts(query="", readMask=",".join(params.fields), pageSize=1)
                execute(warm_up, fields, "preparing the contact search", index, HINTS)
                warmed = True
            produced.extend(Item(entry, paired_item=index) for entry in _run(people, fields, params, index))
        return [produced]


def _run(
    people: Any, fields: GoogleServiceAccountFields, params: ContactsParameters, index: int
) -> list[dict[str, Any]]:
    name = resource_name(params.contact_id)
    mask = ",".join(params.fields)
    match params.operation:
        case "create":
            request = people.createContact(personFields=mask, body=_changes(params))
            return [execute(request, fields, "creating a contact", index, HINTS)]
        case "get":
            request = people.get(resourceName=name, personFields=mask)
            return [execute(request, fields, f"reading contact {name}", index, HINTS)]
        case "get_many":
            return _list(people, fields, params, index)
        case "search":
            size = min(params.limit, MAX_SEARCH)
            request = people.searchContacts(query=params.query.strip(), readMask=mask, pageSize=size)
            answer = execute(request, fields, f"searching contacts for {params.query.strip()!r}", index, HINTS)
            return [result["person"] for result in answer.get("results", [])]
        case "update":
            return [_update(people, fields, params, name, index)]
        case "delete":
            execute(people.deleteContact(resourceName=name), fields, f"deleting contact {name}", index, HINTS)
            return [{"resourceName": name, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _changes(params: ContactsParameters) -> dict[str, Any]:
    """The person's fields that the parameters set, as People API fields (only those given)."""
    body: dict[str, Any] = {}
    if params.given_name.strip() or params.family_name.strip():
        name = {"givenName": params.given_name.strip(), "familyName": params.family_name.strip()}
        body["names"] = [{key: value for key, value in name.items() if value}]
    if params.emails:
        body["emailAddresses"] = [{"value": address} for address in params.emails]
    if params.phones:
        body["phoneNumbers"] = [{"value": number} for number in params.phones]
    if params.company.strip() or params.job_title.strip():
        organization = {"name": params.company.strip(), "title": params.job_title.strip()}
        body["organizations"] = [{key: value for key, value in organization.items() if value}]
    if params.notes.strip():
        body["biographies"] = [{"value": params.notes, "contentType": "TEXT_PLAIN"}]
    return body


def _update(
    people: Any, fields: GoogleServiceAccountFields, params: ContactsParameters, name: str, index: int
) -> dict[str, Any]:
    """Patch the fields given, with the etag just read: Google refuses an update of a contact changed meanwhile."""
    changes = _changes(params)
    updated = sorted(changes)
    request = people.get(resourceName=name, personFields=",".join(updated))
    current = execute(request, fields, f"reading contact {name}", index, HINTS)
    # A name or organization part left empty keeps the contact's value instead of erasing it.
    for key, parts in KEPT_PARTS.items():
        if key in changes and current.get(key):
            kept = {part: value for part, value in current[key][0].items() if part in parts}
            changes[key] = [{**kept, **changes[key][0]}]
    request = people.updateContact(
        resourceName=name,
        updatePersonFields=",".join(updated),
        personFields=",".join(params.fields),
        body={"etag": current["etag"], **changes},
    )
    return execute(request, fields, f"updating contact {name}", index, HINTS)


def _list(
    people: Any, fields: GoogleServiceAccountFields, params: ContactsParameters, index: int
) -> list[dict[str, Any]]:
    limit = None if params.return_all else params.limit
    found: list[dict[str, Any]] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        request = people.connections().list(
            resourceName="people/me",
            personFields=",".join(params.fields),
            sortOrder=params.sort_order,
            pageSize=MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found)),
            pageToken=token,
        )
        answer = execute(request, fields, "listing contacts", index, HINTS)
        found.extend(answer.get("connections", []))
        token = answer.get("nextPageToken")
        if not token:
            break
    return found if limit is None else found[:limit]
