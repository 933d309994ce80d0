"""The one job interface that the embedded and the RQ back ends both speak.

Jobs are named by a dotted import path and take JSON-serialisable arguments
only. That keeps the two back ends interchangeable (nothing can rely on
passing live objects between threads) and keeps the database the source of
truth: a job carries ids and plain data, and loads everything else itself.
"""

from __future__ import annotations

import abc
import importlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

ALLOWED_JOB_PACKAGES = ("hitl_studio.", "nodes.")

# RQ's own rule for job ids; the embedded queue enforces it too so an id that
# works in development also works in queue mode.
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


class JobStatus(StrEnum):
    """Where a job is in its life, the same words for both back ends."""

    QUEUED = "queued"
    SCHEDULED = "scheduled"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def pending(self) -> bool:
        """Waiting to run: the states in which a re-used job id is a no-op and cancel works."""
        return self in (JobStatus.QUEUED, JobStatus.SCHEDULED)

    @property
    def done(self) -> bool:
        """Will never change again (until the id is re-used for a new job)."""
        return self in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobResult:
    """What :meth:`JobQueue.result` knows about a job.

    ``value`` is the return value once finished; ``error`` is the traceback text
    (its last line names the exception) once failed.
    """

    job_id: str
    status: JobStatus
    value: Any = None
    error: str | None = None


class QueueUnavailable(RuntimeError):
    """The queue's back end (Redis) cannot be reached; the message says what to do."""


class JobNotFound(LookupError):
    """No job with this id is known (never enqueued, or its result has expired)."""


@dataclass(frozen=True)
class JobSpec:
    """A validated job, as the base class hands it to a back end."""

    func: str
    job_id: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def resolve_job(path: str) -> Callable[..., Any]:
    """Import the job function named by a dotted path.

    Only our own packages are allowed so that a job id or a path stored in the
    database or Redis can never be turned into "import anything and call it".

    Args:
        path: e.g. ``"hitl_studio.queue.jobs.echo"``.

    Returns:
        The callable.

    Raises:
        ValueError: the path is outside ``hitl_studio.``/``nodes.``, cannot be
            imported, or does not name a callable.
    """
    if not isinstance(path, str) or not path.startswith(ALLOWED_JOB_PACKAGES):
        allowed = " or ".join(f"'{prefix}…'" for prefix in ALLOWED_JOB_PACKAGES)
        message = f"job function {path!r} is not allowed: job functions must live under {allowed}"
        raise ValueError(message)
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        message = f"job function {path!r} cannot be imported: {err}"
        raise ValueError(message) from err
    func = getattr(module, attribute, None)
    if not callable(func):
        message = f"job function {path!r} does not exist: module {module_name!r} has no callable {attribute!r}"
        raise ValueError(message)
    return func


def check_json_arguments(func: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse arguments that are not plain JSON data.

    Raises:
        TypeError: naming the first offending argument (its position or keyword).
    """
    labelled = [(f"#{index}", value) for index, value in enumerate(args)]
    labelled += [(repr(name), value) for name, value in kwargs.items()]
    for label, value in labelled:
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            message = (
                f"{func}: argument {label} is not JSON-serialisable ({type(value).__name__}: {err}); "
                "pass ids and plain data and let the job load the rest from the database"
            )
            raise TypeError(message) from err


def check_job_id(job_id: str) -> None:
    """Refuse ids that RQ would refuse, on both back ends.

    Raises:
        ValueError: the id is empty or has characters other than letters, digits, ``_`` and ``-``.
    """
    if not isinstance(job_id, str) or not JOB_ID_PATTERN.fullmatch(job_id):
        message = f"job id {job_id!r} is invalid: use only letters, digits, '_' and '-'"
        raise ValueError(message)


def _as_utc(when: datetime) -> datetime:
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        message = f"the time to run a job must be a timezone-aware datetime, got {when!r}; use datetime.now(UTC)"
        raise ValueError(message)
    return when.astimezone(UTC)


class JobQueue(abc.ABC):
    """Enqueue, schedule, cancel and inspect jobs.

    Every enqueue method takes ``job_id``. Re-using an id whose job is still
    queued or scheduled is a no-op that returns the same id (nothing is
    replaced, not even the arguments or the time), so callers such as the
    reconciler can enqueue "the timeout job for approval 42" as often as they
    like. Once that job has started or is done, the id may be re-used for a
    new run. Without ``job_id`` a fresh id is generated.

    Because ``job_id`` is a keyword of these methods, a job function cannot
    itself take a keyword argument called ``job_id``.
    """

    def enqueue(self, func: str, *args: Any, job_id: str | None = None, **kwargs: Any) -> str:
        """Run ``func(*args, **kwargs)`` as soon as a worker is free.

        Returns:
            The job id.

        Raises:
            ValueError: ``func`` is not an allowed job path, or ``job_id`` is invalid.
            TypeError: an argument is not JSON-serialisable.
            QueueUnavailable: the back end cannot be reached.
        """
        return self._enqueue(self._spec(func, args, kwargs, job_id))

    def enqueue_at(self, when: datetime, func: str, *args: Any, job_id: str | None = None, **kwargs: Any) -> str:
        """Run ``func(*args, **kwargs)`` at ``when`` (an aware datetime; converted to UTC).

        Returns:
            The job id; until ``when`` its status is ``scheduled``.

        Raises:
            ValueError: ``when`` is naive, ``func`` is not allowed, or ``job_id`` is invalid.
            TypeError: an argument is not JSON-serialisable.
            QueueUnavailable: the back end cannot be reached.
        """
        return self._enqueue_at(_as_utc(when), self._spec(func, args, kwargs, job_id))

    def enqueue_in(self, delay: timedelta, func: str, *args: Any, job_id: str | None = None, **kwargs: Any) -> str:
        """Run ``func(*args, **kwargs)`` after ``delay``; see :meth:`enqueue_at`."""
        return self.enqueue_at(datetime.now(UTC) + delay, func, *args, job_id=job_id, **kwargs)

    @abc.abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Make sure a queued or scheduled job never runs.

        Returns:
            True if the job was waiting and is now cancelled; False if it is
            unknown, already running or already done.
        """

    @abc.abstractmethod
    def result(self, job_id: str, timeout: float = 0.0) -> JobResult:
        """Wait up to ``timeout`` seconds for the job to finish or fail.

        Returns:
            The job's result; if it is still waiting or running when the time is
            up, a result whose status says so (queued, scheduled or started).

        Raises:
            JobNotFound: the id is unknown.
        """

    @abc.abstractmethod
    def health(self) -> str:
        """Report whether jobs can run: ``"ok"`` (Redis answers) or ``"embedded"``.

        Raises:
            QueueUnavailable: Redis does not answer (within about two seconds).
        """

    @abc.abstractmethod
    def start(self) -> None:
        """Start running jobs in this process, if the back end does that."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop what :meth:`start` started."""

    @abc.abstractmethod
    def _enqueue(self, spec: JobSpec) -> str:
        """Queue a validated job now (idempotent for a pending ``spec.job_id``)."""

    @abc.abstractmethod
    def _enqueue_at(self, when: datetime, spec: JobSpec) -> str:
        """Schedule a validated job for ``when`` (UTC; idempotent for a pending ``spec.job_id``)."""

    @staticmethod
    def _spec(func: str, args: tuple[Any, ...], kwargs: dict[str, Any], job_id: str | None) -> JobSpec:
        # Validate here, in the caller's process, so a bad job fails at the call
        # site with a useful traceback rather than later inside a worker.
        resolve_job(func)
        check_json_arguments(func, args, kwargs)
        if job_id is None:
            job_id = uuid.uuid4().hex
        check_job_id(job_id)
        return JobSpec(func=func, job_id=job_id, args=tuple(args), kwargs=dict(kwargs))
