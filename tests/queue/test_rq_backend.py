"""The RQ back end against the real Redis, with workers run in-test in burst mode.

Each test uses its own queue name and job ids that carry a random tag, and
deletes every Redis key carrying that tag afterwards.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq import Callback, Queue
from rq.job import Job
from rq.results import Result
from rq.worker.base import StopRequested

from hitl_studio.queue import get_queue, reset_queue
from hitl_studio.queue.base import JobNotFound, JobStatus, QueueUnavailable
from hitl_studio.queue.rq_backend import RqQueue, make_scheduler, redact_url
from hitl_studio.queue.worker import (
    EMBEDDED_MESSAGE,
    IDLE_HEARTBEAT_INTERVAL,
    SUSPENSION_CHECK_SECONDS,
    HitlSimpleWorker,
    run_scheduler,
    run_worker,
)
from hitl_studio.settings import Settings, load_settings, reset_settings
from tests.servers import redis_url_or_skip

ECHO = "hitl_studio.queue.jobs.echo"
FAIL = "hitl_studio.queue.jobs.fail"
WAIT = 5.0
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@dataclass
class RqHarness:
    """A queue under test plus what a worker and the scheduler process would do."""

    url: str
    tag: str
    queue: RqQueue
    connection: redis.Redis
    extra_job_ids: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    @property
    def queue_name(self) -> str:
        return self.queue.queue.name

    def job_id(self) -> str:
        """A job id that the clean-up will find."""
        return f"{self.tag}-{next(self._ids)}"

    def work(self) -> bool:
        """Run every queued job, as an ``rq worker --burst`` would; True if any ran."""
        # A connection of its own: the worker raises the socket timeout of the pool it is given.
        queue = Queue(self.queue_name, connection=self.connection)
        worker = HitlSimpleWorker([queue], connection=self.connection, name=f"{self.tag}-worker-{next(self._ids)}")
        return worker.work(burst=True, logging_level="WARNING")

    def promote_due(self) -> list[str]:
        """Move due delayed jobs to the queue, as one pass of the scheduler process would.

        Returns:
            The ids now waiting in the queue.
        """
        make_scheduler(self.connection, self.queue_name).enqueue_jobs()
        return Queue(self.queue_name, connection=self.connection).get_job_ids()


@pytest.fixture
def rq() -> Iterator[RqHarness]:
    url = redis_url_or_skip()
    tag = f"hitltest{uuid.uuid4().hex[:12]}"
    harness = RqHarness(url=url, tag=tag, queue=RqQueue(url, f"{tag}-queue"), connection=redis.Redis.from_url(url))
    yield harness
    _delete_keys(harness)


def _delete_keys(harness: RqHarness) -> None:
    connection = harness.connection
    Queue(harness.queue_name, connection=connection).delete(delete_jobs=True)
    for job_id in harness.extra_job_ids:
        connection.delete(Job.key_for(job_id), Result.get_key(job_id))
    keys = list(connection.scan_iter(match=f"*{harness.tag}*"))
    if keys:
        connection.delete(*keys)
    harness.queue.stop()
    connection.close()


def test_round_trip_returns_the_value(rq: RqHarness) -> None:
    job_id = rq.queue.enqueue(ECHO, {"items": [1, "two", None]})
    rq.extra_job_ids.append(job_id)
    assert rq.queue.result(job_id).status is JobStatus.QUEUED

    assert rq.work() is True
    result = rq.queue.result(job_id, timeout=WAIT)

    assert result.job_id == job_id
    assert result.status is JobStatus.FINISHED
    assert result.value == {"items": [1, "two", None]}
    assert result.error is None


def test_keyword_arguments_named_like_rq_options_reach_the_job(rq: RqHarness) -> None:
    # ``Queue.enqueue`` would take ``value=``-style options such as ``timeout`` for itself.
    job_id = rq.queue.enqueue(ECHO, job_id=rq.job_id(), value="by keyword")
    rq.work()

    assert rq.queue.result(job_id, timeout=WAIT).value == "by keyword"


def test_failing_job_is_reported_and_the_worker_goes_on(rq: RqHarness) -> None:
    failing = rq.queue.enqueue(FAIL, "boom", job_id=rq.job_id())
    after = rq.queue.enqueue(ECHO, "still alive", job_id=rq.job_id())

    rq.work()

    failed = rq.queue.result(failing, timeout=WAIT)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert "RuntimeError: boom" in failed.error
    assert rq.queue.result(after, timeout=WAIT).value == "still alive"


def test_enqueue_in_runs_once_due(rq: RqHarness) -> None:
    delay = timedelta(milliseconds=500)
    due = datetime.now(UTC) + delay
    job_id = rq.queue.enqueue_in(delay, ECHO, "later", job_id=rq.job_id())
    assert rq.queue.result(job_id).status is JobStatus.SCHEDULED

    # rq-scheduler counts whole seconds: the job is released at the first whole second after it is due,
    # never before.
    promoted: list[str] = []
    deadline = time.monotonic() + 3
    while not promoted and time.monotonic() < deadline:
        promoted = rq.promote_due()
        if promoted:
            assert datetime.now(UTC) >= due
        time.sleep(0.05)
    assert promoted == [job_id]
    rq.work()

    result = rq.queue.result(job_id, timeout=WAIT)
    assert result.status is JobStatus.FINISHED
    assert result.value == "later"


def test_cancelled_scheduled_job_never_runs(rq: RqHarness) -> None:
    delay = timedelta(milliseconds=300)
    job_id = rq.queue.enqueue_at(datetime.now(UTC) + delay, ECHO, "never", job_id=rq.job_id())

    assert rq.queue.cancel(job_id) is True
    time.sleep(delay.total_seconds() + 0.1)

    assert rq.promote_due() == []
    assert rq.work() is False
    assert rq.queue.result(job_id).status is JobStatus.CANCELLED
    assert rq.queue.cancel(job_id) is False


def test_cancelled_queued_job_never_runs(rq: RqHarness) -> None:
    job_id = rq.queue.enqueue(ECHO, "never", job_id=rq.job_id())

    assert rq.queue.cancel(job_id) is True

    assert rq.work() is False
    assert rq.queue.result(job_id).status is JobStatus.CANCELLED


def test_cancel_of_finished_or_unknown_job_is_false(rq: RqHarness) -> None:
    job_id = rq.queue.enqueue(ECHO, 1, job_id=rq.job_id())
    rq.work()

    assert rq.queue.cancel(job_id) is False
    assert rq.queue.cancel(rq.job_id()) is False


def test_reused_id_while_pending_changes_nothing(rq: RqHarness) -> None:
    job_id = rq.job_id()
    assert rq.queue.enqueue(ECHO, "first", job_id=job_id) == job_id
    assert rq.queue.enqueue(ECHO, "second", job_id=job_id) == job_id
    assert rq.queue.enqueue_in(timedelta(hours=1), ECHO, "third", job_id=job_id) == job_id

    rq.work()
    assert rq.queue.result(job_id, timeout=WAIT).value == "first"

    # Once done, the id is free for a new run.
    rq.queue.enqueue(ECHO, "fourth", job_id=job_id)
    rq.work()
    assert rq.queue.result(job_id, timeout=WAIT).value == "fourth"


def test_reused_id_of_a_scheduled_job_changes_nothing(rq: RqHarness) -> None:
    job_id = rq.queue.enqueue_in(timedelta(hours=1), ECHO, "first", job_id=rq.job_id())

    assert rq.queue.enqueue(ECHO, "now", job_id=job_id) == job_id

    assert rq.work() is False
    assert rq.queue.result(job_id).status is JobStatus.SCHEDULED


def test_arguments_and_paths_are_checked_before_redis(rq: RqHarness) -> None:
    with pytest.raises(TypeError, match=r"argument #0 is not JSON-serialisable \(set"):
        rq.queue.enqueue(ECHO, {1, 2})
    with pytest.raises(TypeError, match=r"argument 'value' is not JSON-serialisable \(datetime"):
        rq.queue.enqueue_in(timedelta(seconds=1), ECHO, value=datetime.now())
    with pytest.raises(ValueError, match=r"'os\.system' is not allowed"):
        rq.queue.enqueue("os.system", "echo hacked")
    assert rq.queue.queue.count == 0


def test_unknown_job_id_raises(rq: RqHarness) -> None:
    with pytest.raises(JobNotFound):
        rq.queue.result(rq.job_id())


def test_health_is_ok_when_redis_answers(rq: RqHarness) -> None:
    assert rq.queue.health() == "ok"


def test_dead_redis_is_reported_as_unavailable() -> None:
    queue = RqQueue(DEAD_REDIS_URL, "unused")

    with pytest.raises(QueueUnavailable, match="unset REDIS_URL"):
        queue.health()
    with pytest.raises(QueueUnavailable, match="not answering"):
        queue.enqueue(ECHO, 1)


def test_passwords_are_kept_out_of_messages() -> None:
    assert redact_url("redis://user:s3cret@redis.example:6379/0") == "redis://user:***@redis.example:6379/0"
    assert redact_url("redis://:s3cret@redis.example/0") == "redis://:***@redis.example/0"
    assert redact_url("redis://redis.example/0") == "redis://redis.example/0"


def test_get_queue_uses_redis_when_redis_url_is_set(
    rq: RqHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REDIS_URL", rq.url)
    monkeypatch.setenv("HITL_QUEUE_NAME", rq.queue_name)
    monkeypatch.setenv("HITL_DATA_DIR", str(tmp_path))
    reset_settings()
    try:
        queue = get_queue()
        assert isinstance(queue, RqQueue)
        assert queue.health() == "ok"
        assert queue.queue.name == rq.queue_name
    finally:
        reset_queue()
        reset_settings()


def _settings(tmp_path: Path, **environ: str) -> Settings:
    return load_settings({"HITL_DATA_DIR": str(tmp_path), **environ})


def test_worker_and_scheduler_refuse_embedded_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path)

    assert run_worker(settings, burst=True) == 2
    assert run_scheduler(settings) == 2
    assert capsys.readouterr().err.splitlines() == [EMBEDDED_MESSAGE, EMBEDDED_MESSAGE]


def test_run_worker_in_burst_mode_runs_queued_jobs(rq: RqHarness, tmp_path: Path) -> None:
    job_id = rq.queue.enqueue(ECHO, "from the worker command", job_id=rq.job_id())

    assert run_worker(_settings(tmp_path, REDIS_URL=rq.url, HITL_QUEUE_NAME=rq.queue_name), burst=True) == 0

    assert rq.queue.result(job_id, timeout=WAIT).value == "from the worker command"


def test_run_worker_reports_unreachable_redis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path, REDIS_URL=DEAD_REDIS_URL)

    assert run_worker(settings, burst=True) == 1
    assert "not reachable" in capsys.readouterr().err


def test_worker_renews_its_key_between_jobs_at_most_every_interval(rq: RqHarness) -> None:
    queue = Queue(rq.queue_name, connection=rq.connection)
    worker = HitlSimpleWorker([queue], connection=rq.connection, name=f"{rq.tag}-worker-heartbeat")

    def stamp() -> bytes | None:
        return rq.connection.hget(worker.key, "last_heartbeat")

    worker.heartbeat()
    first = stamp()
    assert first is not None
    time.sleep(0.01)
    worker.heartbeat()  # between jobs, too soon: nothing sent
    assert stamp() == first

    with rq.connection.pipeline() as pipeline:  # inside a job's transition: always sent
        worker.heartbeat(pipeline=pipeline)
        pipeline.execute()
    in_job = stamp()
    assert in_job is not None and in_job != first

    assert worker.last_heartbeat is not None
    worker.last_heartbeat -= IDLE_HEARTBEAT_INTERVAL  # the interval has passed
    worker.heartbeat()
    assert stamp() not in (first, in_job)
    assert rq.connection.ttl(worker.key) > 60


def test_worker_asks_about_rq_suspend_at_most_every_interval(rq: RqHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    import rq.worker.base as rq_worker

    asked: list[bool] = []
    suspended = False

    def is_suspended(connection: redis.Redis, worker: object = None) -> bool:
        asked.append(suspended)
        return suspended

    # Counted instead of calling `rq suspend`, whose key would pause every worker on this Redis.
    monkeypatch.setattr(rq_worker, "is_suspended", is_suspended)
    queue = Queue(rq.queue_name, connection=rq.connection)
    worker = HitlSimpleWorker([queue], connection=rq.connection, name=f"{rq.tag}-worker-suspension")

    worker.check_for_suspension(burst=True)
    suspended = True
    worker.check_for_suspension(burst=True)  # a job later, within the interval: not asked
    assert asked == [False]

    assert worker._suspension_checked_at is not None
    worker._suspension_checked_at -= SUSPENSION_CHECK_SECONDS  # the interval has passed
    with pytest.raises(StopRequested):  # a burst worker that finds itself suspended stops
        worker.check_for_suspension(burst=True)
    assert asked == [False, True]


def test_worker_writes_its_state_only_when_it_changes(rq: RqHarness) -> None:
    queue = Queue(rq.queue_name, connection=rq.connection)
    worker = HitlSimpleWorker([queue], connection=rq.connection, name=f"{rq.tag}-worker-state")

    worker.set_state("idle")
    assert rq.connection.hget(worker.key, "state") == b"idle"
    rq.connection.hdel(worker.key, "state")
    worker.set_state("idle")  # unchanged: not written again
    assert rq.connection.hget(worker.key, "state") is None

    worker.set_state("busy")
    worker.set_state("idle")
    assert rq.connection.hget(worker.key, "state") == b"idle"
    assert worker.get_state() == "idle"


def test_an_ended_job_without_callbacks_gets_no_extra_heartbeat(rq: RqHarness) -> None:
    queue = Queue(rq.queue_name, connection=rq.connection)
    worker = HitlSimpleWorker([queue], connection=rq.connection, name=f"{rq.tag}-worker-ended")
    plain = queue.enqueue_call(func=ECHO, args=("plain",), job_id=rq.job_id())
    called_back = queue.enqueue_call(func=ECHO, args=("with callback",), job_id=rq.job_id(), on_success=Callback(ECHO))
    before = {job.id: rq.connection.hget(job.key, "last_heartbeat") for job in (plain, called_back)}

    worker.handle_execution_ended(plain, queue, 60)
    worker.handle_execution_ended(called_back, queue, 60)

    assert plain.ended_at is not None and called_back.ended_at is not None
    assert rq.connection.hget(plain.key, "last_heartbeat") == before[plain.id]
    # A success callback still gets its heartbeat: it runs after the job and needs the time.
    assert rq.connection.hget(called_back.key, "last_heartbeat") != before[called_back.id]
