"""SQLModel tables, one module per aggregate; importing this package registers them all."""

from hitl_studio.models.approvals import (
    Approval,
    ApprovalEvent,
    ApprovalStatus,
    Delivery,
    DeliveryStatus,
    EventSource,
    TimeoutAction,
)
from hitl_studio.models.audit import AuditLog
from hitl_studio.models.credentials import Credential, OAuthConnection
from hitl_studio.models.executions import Execution, ExecutionEvent, ExecutionMode, ExecutionStatus, ExecutionStep
from hitl_studio.models.oauth import OAuthState
from hitl_studio.models.users import ApiKey, Role, User, UserGroup, UserGroupMember, UserSession
from hitl_studio.models.webhooks import WebhookDelivery, WebhookSubscription
from hitl_studio.models.workflows import Schedule, Workflow, WorkflowVersion

__all__ = [
    "ApiKey",
    "Approval",
    "ApprovalEvent",
    "ApprovalStatus",
    "AuditLog",
    "Credential",
    "Delivery",
    "DeliveryStatus",
    "EventSource",
    "Execution",
    "ExecutionEvent",
    "ExecutionMode",
    "ExecutionStatus",
    "ExecutionStep",
    "OAuthConnection",
    "OAuthState",
    "Role",
    "Schedule",
    "TimeoutAction",
    "User",
    "UserGroup",
    "UserGroupMember",
    "UserSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "Workflow",
    "WorkflowVersion",
]
