"""Default timeouts and retry policies for activities, so each call site states only exceptions.

Activities are idempotent (keys decided in the workflow), so retrying them is always safe.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

# Database writes: short, retried quickly, for as long as the database takes to come back.
DATABASE = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
    ),
}

# Email: an SMTP server that says "try later" is retried with a widening gap for up to two days,
# which is what mail servers themselves do; a permanent refusal is non-retryable.
EMAIL = {
    "start_to_close_timeout": timedelta(minutes=2),
    "schedule_to_close_timeout": timedelta(days=2),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=10),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(hours=1),
        non_retryable_error_types=["EmailRejected", "TemplateMissing"],
    ),
}

# A workflow's own database reads and writes (the ticket's), as local activities: they run in the
# worker without a round trip through the server and leave one marker in the history instead of
# three events, so a ticket reply is answered within one workflow task. Idempotent like every
# activity here, so the re-run after a worker crash is safe.
LOCAL_DATABASE = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": DATABASE["retry_policy"],
}

# IMAP: a fetch or a flag takes seconds; an unreachable server is reported on the mailbox's row
# by the activity itself (not retried here: the next scheduled poll tries again).
IMAP = {
    "start_to_close_timeout": timedelta(minutes=5),
    # The fetch heartbeats after each mail: a worker that dies mid-batch is noticed in seconds.
    "heartbeat_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=10,
    ),
}
