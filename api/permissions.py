"""The permission catalogue and the built-in roles.

Permissions are `area.action` strings. Customers' roles use the same strings, always scoped to
their own company by the queries that serve them: `tickets.view` for a customer means "my
company's tickets", for an agent "every ticket".
"""

from __future__ import annotations

from dataclasses import dataclass

from i18n import N_

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "customers": ("view", "create", "edit", "delete", "validate"),
    "tickets": ("view", "create", "reply", "assign", "close"),
    "products": ("view", "create", "edit", "delete"),
    "orders": ("view", "create", "edit", "approve", "deliver"),
    "invoices": ("view", "create", "edit", "approve", "send"),
    "reports": ("view", "export"),
    "settings": ("view", "edit"),
    "users": ("view", "create", "edit", "delete"),
}
ALL_PERMISSIONS: frozenset[str] = frozenset(
    f"{area}.{action}" for area, actions in PERMISSIONS.items() for action in actions
)

AREA_LABELS = {
    "customers": N_("Customers"),
    "tickets": N_("Tickets"),
    "products": N_("Products"),
    "orders": N_("Orders"),
    "invoices": N_("Invoices"),
    "reports": N_("Reports"),
    "settings": N_("Settings"),
    "users": N_("Users"),
}
ACTION_LABELS = {
    "view": N_("View"),
    "create": N_("Create"),
    "edit": N_("Edit"),
    "delete": N_("Delete"),
    "validate": N_("Validate"),
    "reply": N_("Reply"),
    "assign": N_("Assign"),
    "close": N_("Close"),
    "approve": N_("Approve"),
    "deliver": N_("Deliver"),
    "send": N_("Send"),
    "export": N_("Export"),
}


def grant(*areas_or_permissions: str) -> frozenset[str]:
    """`grant("tickets", "customers.view")`: every action of an area, or one permission."""
    granted: set[str] = set()
    for item in areas_or_permissions:
        if "." in item:
            granted.add(item)
        else:
            granted.update(f"{item}.{action}" for action in PERMISSIONS[item])
    unknown = granted - ALL_PERMISSIONS
    if unknown:
        raise ValueError(f"unknown permissions: {sorted(unknown)}")
    return frozenset(granted)


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name: str
    scope: str  # "staff" or "customer"
    permissions: frozenset[str]
    requires_two_factor: bool


BUILTIN_ROLES: tuple[BuiltinRole, ...] = (
    BuiltinRole("admin", N_("Administrator"), "staff", ALL_PERMISSIONS, True),
    BuiltinRole(
        "team_lead", N_("Team lead"), "staff",
        grant("tickets", "customers.view", "products.view", "orders.view", "invoices.view",
              "reports", "users.view"),
        True,
    ),
    BuiltinRole(
        "agent", N_("Agent"), "staff",
        grant("tickets", "customers.view", "products.view", "orders.view", "invoices.view"),
        True,
    ),
    BuiltinRole(
        "sales", N_("Sales"), "staff",
        grant("customers.view", "customers.create", "customers.edit", "customers.validate",
              "tickets.view", "products", "orders.view", "orders.create", "orders.edit",
              "orders.approve", "invoices.view", "invoices.create", "reports.view"),
        True,
    ),
    BuiltinRole(
        "accounting", N_("Accounting"), "staff",
        grant("customers.view", "tickets.view", "products.view", "orders.view",
              "orders.deliver", "invoices", "reports"),
        True,
    ),
    BuiltinRole(
        "customer_owner", N_("Company owner"), "customer",
        grant("customers.view", "customers.edit", "tickets.view", "tickets.create",
              "tickets.reply", "tickets.close", "orders.view", "orders.create",
              "invoices.view", "users"),
        False,
    ),
    BuiltinRole(
        "customer_member", N_("Company member"), "customer",
        grant("customers.view", "tickets.view", "tickets.create", "tickets.reply",
              "tickets.close", "orders.view"),
        False,
    ),
    BuiltinRole(
        "billing_contact", N_("Billing contact"), "customer",
        grant("customers.view", "invoices.view", "orders.view", "tickets.view",
              "tickets.create", "tickets.reply"),
        False,
    ),
    BuiltinRole(
        "technical_contact", N_("Technical contact"), "customer",
        grant("customers.view", "tickets.view", "tickets.create", "tickets.reply",
              "tickets.close", "orders.view"),
        False,
    ),
)  # fmt: skip
BUILTIN_BY_KEY = {role.key: role for role in BUILTIN_ROLES}
