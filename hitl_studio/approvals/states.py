"""The approval state machine: which status may follow which.

``pending → approved | rejected | timeout | cancelled``; an approved request
whose action the studio runs goes ``approved → executing → completed | failed``.
``hitl_studio.services.approvals`` is the only code that applies these rules.
"""

from __future__ import annotations

from hitl_studio.models.approvals import ApprovalStatus

TRANSITIONS: dict[ApprovalStatus, frozenset[ApprovalStatus]] = {
    ApprovalStatus.PENDING: frozenset(
        {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.TIMEOUT, ApprovalStatus.CANCELLED}
    ),
    ApprovalStatus.APPROVED: frozenset({ApprovalStatus.EXECUTING}),
    ApprovalStatus.EXECUTING: frozenset({ApprovalStatus.COMPLETED, ApprovalStatus.FAILED}),
    ApprovalStatus.REJECTED: frozenset(),
    ApprovalStatus.TIMEOUT: frozenset(),
    ApprovalStatus.CANCELLED: frozenset(),
    ApprovalStatus.COMPLETED: frozenset(),
    ApprovalStatus.FAILED: frozenset(),
}

DECIDED = frozenset(
    {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.TIMEOUT, ApprovalStatus.CANCELLED}
)


class InvalidApprovalTransition(ValueError):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"an approval that is {current} cannot become {target}")
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> None:
    """Raise :class:`InvalidApprovalTransition` unless ``current → target`` is allowed."""
    if ApprovalStatus(target) not in TRANSITIONS[ApprovalStatus(current)]:
        raise InvalidApprovalTransition(current, target)
