"""The embedded queue: real worker and timer threads in this process."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from hitl_studio.queue import get_queue, reset_queue
from hitl_studio.queue.base import JobNotFound, JobStatus, resolve_job
from hitl_studio.queue.embedded import EmbeddedQueue
from hitl_studio.settings import reset_settings

ECHO = "hitl_studio.queue.jobs.echo"
FAIL = "hitl_studio.queue.jobs.fail"
WAIT = 5.0


@pytest.fixture
def queue() -> Iterator[EmbeddedQueue]:
    queue = EmbeddedQueue(workers=2)
    queue.start()
    yield queue
    queue.stop()


@pytest.fixture
def stopped_queue() -> Iterator[EmbeddedQueue]:
    """A queue whose threads are not running yet, so jobs stay queued until the test starts it."""
    queue = EmbeddedQueue(workers=1)
    yield queue
    queue.stop()


def test_round_trip_returns_the_value(queue: EmbeddedQueue) -> None:
    job_id = queue.enqueue(ECHO, {"items": [1, "two", None]})

    result = queue.result(job_id, timeout=WAIT)

    assert result.job_id == job_id
    assert result.status is JobStatus.FINISHED
    assert result.value == {"items": [1, "two", None]}
    assert result.error is None


def test_keyword_arguments_reach_the_job(queue: EmbeddedQueue) -> None:
    job_id = queue.enqueue(ECHO, value="by keyword")

    assert queue.result(job_id, timeout=WAIT).value == "by keyword"


def test_failing_job_is_reported_and_the_worker_survives(caplog: pytest.LogCaptureFixture) -> None:
    queue = EmbeddedQueue(workers=1)
    queue.start()
    try:
        with caplog.at_level(logging.ERROR, logger="hitl_studio.queue.embedded"):
            failed = queue.result(queue.enqueue(FAIL, "boom"), timeout=WAIT)
        after = queue.result(queue.enqueue(ECHO, "still alive"), timeout=WAIT)
    finally:
        queue.stop()

    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert "RuntimeError: boom" in failed.error
    assert any(record.exc_info for record in caplog.records)
    assert after.status is JobStatus.FINISHED
    assert after.value == "still alive"


def test_enqueue_in_runs_after_the_delay(queue: EmbeddedQueue) -> None:
    started = time.monotonic()
    job_id = queue.enqueue_in(timedelta(milliseconds=300), ECHO, "later")

    result = queue.result(job_id, timeout=WAIT)

    assert result.status is JobStatus.FINISHED
    assert result.value == "later"
    assert time.monotonic() - started >= 0.25


def test_enqueue_at_in_the_past_runs_now(queue: EmbeddedQueue) -> None:
    job_id = queue.enqueue_at(datetime.now().astimezone() - timedelta(hours=1), ECHO, "overdue")

    assert queue.result(job_id, timeout=WAIT).value == "overdue"


def test_cancelled_scheduled_job_never_runs(queue: EmbeddedQueue) -> None:
    cancelled = queue.enqueue_in(timedelta(milliseconds=200), ECHO, "never")
    assert queue.result(cancelled, timeout=0).status is JobStatus.SCHEDULED

    assert queue.cancel(cancelled) is True
    # A later job finishing shows the timer went past the cancelled job's due time.
    later = queue.enqueue_in(timedelta(milliseconds=400), ECHO, "after")
    assert queue.result(later, timeout=WAIT).status is JobStatus.FINISHED

    result = queue.result(cancelled, timeout=0)
    assert result.status is JobStatus.CANCELLED
    assert result.value is None
    assert queue.cancel(cancelled) is False


def test_cancelled_queued_job_is_skipped_by_the_worker(stopped_queue: EmbeddedQueue) -> None:
    cancelled = stopped_queue.enqueue(ECHO, "never")
    assert stopped_queue.cancel(cancelled) is True

    stopped_queue.start()
    after = stopped_queue.enqueue(ECHO, "after")

    assert stopped_queue.result(after, timeout=WAIT).status is JobStatus.FINISHED
    assert stopped_queue.result(cancelled, timeout=0).status is JobStatus.CANCELLED


def test_cancel_of_finished_or_unknown_job_is_false(queue: EmbeddedQueue) -> None:
    job_id = queue.enqueue(ECHO, 1)
    queue.result(job_id, timeout=WAIT)

    assert queue.cancel(job_id) is False
    assert queue.cancel("no-such-job") is False


def test_reused_id_while_pending_changes_nothing(stopped_queue: EmbeddedQueue) -> None:
    first = stopped_queue.enqueue(ECHO, "first", job_id="approval-42-timeout")
    again = stopped_queue.enqueue_in(timedelta(hours=1), ECHO, "second", job_id="approval-42-timeout")
    stopped_queue.start()

    assert first == again == "approval-42-timeout"
    assert stopped_queue.result(first, timeout=WAIT).value == "first"

    # Once done, the id is free for a new run.
    stopped_queue.enqueue(ECHO, "third", job_id=first)
    assert stopped_queue.result(first, timeout=WAIT).value == "third"


def test_result_gives_up_with_the_current_status(queue: EmbeddedQueue) -> None:
    job_id = queue.enqueue_in(timedelta(hours=1), ECHO, "not yet")

    assert queue.result(job_id, timeout=0.05).status is JobStatus.SCHEDULED


def test_stop_runs_the_jobs_already_queued(stopped_queue: EmbeddedQueue) -> None:
    job_ids = [stopped_queue.enqueue(ECHO, n) for n in range(3)]
    stopped_queue.start()

    stopped_queue.stop()

    assert [stopped_queue.result(job_id).value for job_id in job_ids] == [0, 1, 2]


def test_only_the_latest_results_are_kept() -> None:
    queue = EmbeddedQueue(workers=1, max_results=2)
    queue.start()
    try:
        job_ids = [queue.enqueue(ECHO, n) for n in range(3)]
        for job_id in job_ids:
            queue.result(job_id, timeout=WAIT)
    finally:
        queue.stop()

    with pytest.raises(JobNotFound):
        queue.result(job_ids[0])
    assert queue.result(job_ids[2]).value == 2


def test_arguments_are_copied_at_enqueue(stopped_queue: EmbeddedQueue) -> None:
    payload = {"n": 1}
    job_id = stopped_queue.enqueue(ECHO, payload)
    payload["n"] = 2
    stopped_queue.start()

    assert stopped_queue.result(job_id, timeout=WAIT).value == {"n": 1}


def test_arguments_must_be_json(queue: EmbeddedQueue) -> None:
    with pytest.raises(TypeError, match=r"argument #0 is not JSON-serialisable \(set"):
        queue.enqueue(ECHO, {1, 2})
    with pytest.raises(TypeError, match=r"argument 'value' is not JSON-serialisable \(datetime"):
        queue.enqueue_in(timedelta(seconds=1), ECHO, value=datetime.now())


def test_job_paths_outside_our_packages_are_refused(queue: EmbeddedQueue) -> None:
    with pytest.raises(ValueError, match=r"'os\.system' is not allowed"):
        queue.enqueue("os.system", "echo hacked")
    with pytest.raises(ValueError, match="does not exist"):
        resolve_job("hitl_studio.queue.jobs.no_such_job")
    with pytest.raises(ValueError, match="cannot be imported"):
        resolve_job("hitl_studio.no_such_module.job")
    with pytest.raises(ValueError, match="not allowed"):
        resolve_job("hitl_studiox.jobs.echo")


def test_naive_times_and_bad_ids_are_refused(queue: EmbeddedQueue) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        queue.enqueue_at(datetime.now(), ECHO, 1)
    with pytest.raises(ValueError, match="job id 'a:b' is invalid"):
        queue.enqueue(ECHO, 1, job_id="a:b")


def test_unknown_job_id_raises(queue: EmbeddedQueue) -> None:
    with pytest.raises(JobNotFound):
        queue.result("no-such-job")


def test_health_says_embedded(queue: EmbeddedQueue) -> None:
    assert queue.health() == "embedded"


def test_get_queue_is_one_started_embedded_queue_without_redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("HITL_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("HITL_EMBEDDED_WORKERS", "1")
    reset_settings()
    try:
        queue = get_queue()
        assert isinstance(queue, EmbeddedQueue)
        assert get_queue() is queue
        assert queue.result(queue.enqueue(ECHO, "hi"), timeout=WAIT).value == "hi"
        reset_queue()
        assert get_queue() is not queue
    finally:
        reset_queue()
        reset_settings()
