"""Typed search-attribute keys, registered with the Temporal server and upserted by workflows.

They exist for operators filtering runs in the Temporal UI; application pages read Postgres.
"""

from temporalio.common import SearchAttributeKey

CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
PRIORITY = SearchAttributeKey.for_keyword("Priority")
SLA_STATE = SearchAttributeKey.for_keyword("SlaState")
ASSIGNED_GROUP = SearchAttributeKey.for_keyword("AssignedGroup")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
INVOICE_STATUS = SearchAttributeKey.for_keyword("InvoiceStatus")
KYC_STATE = SearchAttributeKey.for_keyword("KycState")

ALL = (
    CUSTOMER_ID,
    TICKET_STATUS,
    PRIORITY,
    SLA_STATE,
    ASSIGNED_GROUP,
    ORDER_STATUS,
    INVOICE_STATUS,
    KYC_STATE,
)
