"""MailboxPollWorkflow: one poll of one IMAP mailbox, started by that mailbox's Temporal Schedule
(`mailbox-{id}`, overlap SKIP, so a slow poll is never doubled and one broken mailbox never
holds up another).

Each round: `fetch_mail` reads the mail above the last processed UID, takes each one in (one row
per Message-ID) and decides what it does; the workflow carries the decisions out (start the
ticket, signal it, send a polite rejection); only then `mark_processed` flags or moves the mail
and moves the mailbox's last UID. A crash anywhere replays from the history or re-reads mail
whose rows already hold their decision: nothing is lost, nothing is done twice.
"""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, FailureError, WorkflowAlreadyStartedError

from workflows import activity_options
from workflows.mail_messages import (
    FetchedBatch,
    FetchMail,
    InboundDecision,
    MarkProcessed,
    Outcome,
    PollMailbox,
)
from workflows.outbound_email import SEND_EMAIL, EmailDelivery
from workflows.search_attributes import CUSTOMER_ID
from workflows.ticket_messages import OpenTicket
from workflows.tickets import TicketWorkflow
from workflows.tickets import workflow_id as ticket_workflow_id

FETCH_MAIL = "fetch_mail"
MARK_PROCESSED = "mark_processed"
# Mail per round: small enough that a round's payloads stay far below Temporal's limits.
BATCH = 50
MAX_HISTORY_EVENTS = 5_000
# Tickets started together: each new ticket's first workflow task loads its sandbox, and fifty
# at once on a small worker outlast the task timeout and are all retried.
OPEN_AT_ONCE = 5


def schedule_id(mailbox_id: str) -> str:
    return f"mailbox-{mailbox_id}"


def poll_workflow_id(mailbox_id: str) -> str:
    return f"mailbox-poll-{mailbox_id}"


@workflow.defn
class MailboxPollWorkflow:
    """No messages. Returns how many mails the poll took in."""

    @workflow.run
    async def run(self, poll: PollMailbox) -> int:
        handled = 0
        while True:
            batch = await workflow.execute_activity(
                FETCH_MAIL,
                FetchMail(poll.mailbox_id, BATCH),
                result_type=FetchedBatch,
                **activity_options.IMAP,
            )
            if batch.error or not batch.uids:
                return handled
            outcomes = await self._carry_out(batch.decisions)
            await workflow.execute_activity(
                MARK_PROCESSED,
                MarkProcessed(poll.mailbox_id, batch.uid_validity, batch.uids, outcomes),
                **activity_options.IMAP,
            )
            handled += len(batch.decisions)
            if not batch.more:
                return handled
            if workflow.info().get_current_history_length() > MAX_HISTORY_EVENTS:
                workflow.continue_as_new(poll)

    async def _carry_out(self, decisions: list[InboundDecision]) -> list[Outcome]:
        # New tickets first, all at once; then messages to existing tickets, in mail order (a
        # reply may answer a ticket this same batch opened); rejections last.
        opening = [d for d in decisions if d.action == "open"]
        for start in range(0, len(opening), OPEN_AT_ONCE):
            group = opening[start : start + OPEN_AT_ONCE]
            await asyncio.gather(*(self._open(d.open_ticket) for d in group if d.open_ticket))
        outcomes = [Outcome(d.inbound_id) for d in opening]
        for decision in decisions:
            if decision.action == "append":
                outcomes.append(await self._append(decision))
        rejecting = [d for d in decisions if d.action == "reject" and d.rejection]
        await asyncio.gather(*(self._reject(d) for d in rejecting))
        outcomes += [Outcome(d.inbound_id) for d in decisions if d.action in ("reject", "none")]
        return outcomes

    async def _open(self, request: OpenTicket) -> None:
        # Already started: an earlier poll, cut short before recording it, opened this ticket.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                TicketWorkflow.run,
                args=[request, None],
                id=ticket_workflow_id(request.ticket_id),
                # The ticket lives on after this poll ends.
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(CUSTOMER_ID, request.customer_id)]
                ),
            )

    async def _append(self, decision: InboundDecision) -> Outcome:
        assert decision.ticket_id and decision.email
        target = workflow.get_external_workflow_handle_for(
            TicketWorkflow.run, ticket_workflow_id(decision.ticket_id)
        )
        try:
            await target.signal(TicketWorkflow.inbound_email, decision.email)
        except FailureError:
            # The ticket's run is over (closed, reopen window passed): a follow-up ticket.
            if decision.open_ticket is None:
                raise
            await self._open(decision.open_ticket)
            return Outcome(decision.inbound_id, followed_up=True)
        return Outcome(decision.inbound_id)

    async def _reject(self, decision: InboundDecision) -> None:
        try:
            await workflow.execute_activity(
                SEND_EMAIL, decision.rejection, result_type=EmailDelivery, **activity_options.EMAIL
            )
        except ActivityError as error:
            # Refused for good: on the outbox row; the mail itself is handled.
            workflow.logger.warning("rejection not delivered: %s", error)
