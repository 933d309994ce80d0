"""Node descriptions: what the canvas palette and the config panel are built from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import ValidationError

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services.errors import InvalidInput, NotFound
from nodes.registry import UnknownNodeType, get_registry
from nodes.triggers.schedule import next_fire_times

router = APIRouter(tags=["nodes"])
Viewer = Annotated[User, Depends(require(Permission.VIEW_WORKFLOWS))]


@router.get("/nodes", summary="Every installed node type (newest versions), with its parameter schema")
def list_nodes(_user: Viewer, category: str | None = None) -> list[dict[str, Any]]:
    described = [cls.describe() for cls in get_registry().node_classes()]
    return [node for node in described if category is None or node["category"] == category]


@router.get("/nodes/{node_type}", summary="One node type's description and parameter schema")
def get_node(node_type: str, _user: Viewer, version: int | None = None) -> dict[str, Any]:
    try:
        return get_registry().get(node_type, version).describe()
    except UnknownNodeType as err:
        raise NotFound(str(err)) from err


@router.get("/credential-types", summary="Every credential type nodes can ask for, with its form schema")
def list_credential_types(_user: Viewer) -> list[dict[str, Any]]:
    return [cls.describe() for cls in get_registry().credential_types()]


@router.get("/schedules/preview", summary="The next fire times of a cron expression (for the node panel)")
def preview_schedule(
    _user: Viewer,
    cron: Annotated[str, Query(min_length=1, max_length=120)],
    timezone: str = "UTC",
    count: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    from nodes.triggers.schedule import ScheduleParameters

    try:
        params = ScheduleParameters(cron=cron, timezone=timezone)
    except ValidationError as err:
        fields = {str(error["loc"][0]): error["msg"].removeprefix("Value error, ") for error in err.errors()}
        summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        raise InvalidInput(f"The schedule is not valid: {summary}", field_errors=fields) from err
    return {"next": [moment.isoformat() for moment in next_fire_times(params.cron, params.timezone, count)]}
