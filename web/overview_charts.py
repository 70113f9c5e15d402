"""The back-office overview's charts: pygal draws them on the server as inline SVG, in the page's
language, and each comes with the same numbers as a table (what a screen reader reads, and what
someone who wants the figures copies).

The app's CSP allows no inline script and no inline style, and pygal's SVG carries both (a
config script and a <style> block, even with `js=[]`): `_fit_for_the_page` removes them, so
the charts take their colours and fonts from app.css ("Overview" section) like the rest of the
page. Series are told apart there by pygal's `color-N` classes under the chart's own class.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import pygal
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from markupsafe import Markup
from pygal.style import Style
from starlette.requests import Request

import i18n
from db.models.tickets import PRIORITIES, SLA_STATES
from db.queries.overview import DayFlow, WeekResponse
from web.templating import locale_of, translate
from web.ticket_labels import PRIORITY, SLA

WIDTH, HEIGHT = 640, 300
# pygal lays the text out for these sizes (SVG user units); app.css draws it at the same sizes.
FONT = Style(
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=14,
    value_font_size=12,
    tooltip_font_size=12,
    no_data_font_size=14,
)


@dataclass(frozen=True)
class Chart:
    key: str  # the chart's class in app.css: chart-<key>
    title: str
    summary: str  # one sentence with the totals: the SVG's <desc>
    svg: Markup | None  # None when there is nothing to draw: `empty` is said instead
    empty: str
    columns: list[str]  # the data table's header; the first names the rows
    rows: list[list[str]]


def _unwanted(node) -> bool:
    # A comment's tag is a function, not a name (xml.etree and lxml alike). The tooltip only
    # moves with pygal's script, and hides itself with an inline style.
    if not isinstance(node.tag, str):
        return True
    return node.tag in ("style", "script") or "tooltip-overlay" in node.get("class", "")


def _fit_for_the_page(key: str, title: str, summary: str) -> Callable:
    """An xml filter: no script, no style, no comment, no id that repeats across charts; a
    <title> and <desc> first, named by aria-labelledby, so the image has a name and an account."""

    def apply(root):
        for parent in list(root.iter()):
            for child in list(parent):
                if _unwanted(child):
                    parent.remove(child)
                elif child.get("id", "").startswith("activate-serie"):
                    del child.attrib["id"]
        stem = f"chart-{key}-{uuid.uuid4().hex[:8]}"
        root.set("id", stem)
        root.set("class", f"pygal-chart chart-{key}")
        root.set("role", "img")
        root.set("aria-labelledby", f"{stem}-title {stem}-desc")
        for old in root.findall("title"):
            root.remove(old)
        # makeelement: pygal builds with lxml when it is installed, else with xml.etree.
        description = root.makeelement("desc", {"id": f"{stem}-desc"})
        description.text = summary
        root.insert(0, description)
        heading = root.makeelement("title", {"id": f"{stem}-title"})
        heading.text = title
        root.insert(0, heading)
        return root

    return apply


def _render(chart, key: str, title: str, summary: str) -> Markup:
    chart.add_xml_filter(_fit_for_the_page(key, title, summary))
    # pygal escapes every text it writes (labels come from our catalog and the database).
    return Markup(chart.render(is_unicode=True))  # noqa: S704


def _options(request: Request, **more) -> dict:
    locale = i18n.babel_locale(locale_of(request))
    return {
        "style": FONT, "width": WIDTH, "height": HEIGHT, "js": [], "css": [],
        "disable_xml_declaration": True, "legend_at_bottom": True, "truncate_label": -1,
        "truncate_legend": -1, "margin": 12,
        "value_formatter": lambda value: format_decimal(value or 0, locale=locale),
        **more,
    }  # fmt: skip


def _whole_steps(largest: float) -> list[int]:
    """Y labels for counts: whole numbers, about five of them (pygal would write 0.2, 0.4…)."""
    step = max(1, math.ceil(largest / 5))
    return list(range(0, int(largest) + step + 1, step))


def _number(request: Request, value: float) -> str:
    return format_decimal(value, locale=i18n.babel_locale(locale_of(request)))


def _day(request: Request, day: date) -> str:
    return format_skeleton("MMMd", day, locale=i18n.babel_date_locale(locale_of(request)))


def flow_chart(request: Request, days: Sequence[DayFlow]) -> Chart:
    """Tickets opened and resolved per day (a line each)."""
    title = translate(request, "Tickets opened and resolved per day")
    opened = sum(day.opened for day in days)
    resolved = sum(day.resolved for day in days)
    summary = translate(
        request, "From %(first)s to %(last)s: opened %(opened)s, resolved %(resolved)s.",
        first=_day(request, days[0].day), last=_day(request, days[-1].day),
        opened=_number(request, opened), resolved=_number(request, resolved),
    )  # fmt: skip
    svg = None
    if opened or resolved:
        largest = max(max(day.opened, day.resolved) for day in days)
        chart = pygal.Line(**_options(
            request, y_labels=_whole_steps(largest), show_minor_x_labels=False,
            x_labels_major_every=7, dots_size=2.5,
        ))  # fmt: skip
        chart.x_labels = [_day(request, day.day) for day in days]
        chart.add(translate(request, "Opened"), [day.opened for day in days])
        chart.add(translate(request, "Resolved"), [day.resolved for day in days])
        svg = _render(chart, "flow", title, summary)
    return Chart(
        "flow", title, summary, svg,
        translate(request, "No ticket was opened or resolved in the last 30 days."),
        [translate(request, "Day"), translate(request, "Opened"), translate(request, "Resolved")],
        [[_day(request, day.day), _number(request, day.opened), _number(request, day.resolved)]
         for day in days],
    )  # fmt: skip


def sla_chart(request: Request, counts: dict[tuple[str, str], int]) -> Chart:
    """Open tickets by priority (a bar each, urgent last), stacked by SLA state."""
    title = translate(request, "Open tickets by priority and SLA state")
    by_state = {state: sum(counts.get((p, state), 0) for p in PRIORITIES) for state in SLA_STATES}
    total = sum(by_state.values())
    summary = translate(
        request, "Open tickets: %(total)s; at risk: %(at_risk)s; breached: %(breached)s.",
        total=_number(request, total), at_risk=_number(request, by_state["at_risk"]),
        breached=_number(request, by_state["breached"]),
    )  # fmt: skip
    svg = None
    if total:
        largest = max(sum(counts.get((p, s), 0) for s in SLA_STATES) for p in PRIORITIES)
        chart = pygal.StackedBar(**_options(request, y_labels=_whole_steps(largest)))
        chart.x_labels = [translate(request, PRIORITY[p]) for p in PRIORITIES]
        for state in SLA_STATES:
            chart.add(
                translate(request, SLA[state]), [counts.get((p, state), 0) for p in PRIORITIES]
            )
        svg = _render(chart, "sla", title, summary)
    rows = [
        [translate(request, PRIORITY[p])]
        + [_number(request, counts.get((p, s), 0)) for s in SLA_STATES]
        + [_number(request, sum(counts.get((p, s), 0) for s in SLA_STATES))]
        for p in PRIORITIES
    ]
    return Chart(
        "sla", title, summary, svg,
        translate(request, "No open ticket: nothing is waiting for an answer."),
        [translate(request, "Priority"), *(translate(request, SLA[s]) for s in SLA_STATES),
         translate(request, "Total")],
        rows,
    )  # fmt: skip


def first_response_chart(request: Request, weeks: Sequence[WeekResponse]) -> Chart:
    """The median first response of each week, in hours (a bar each)."""
    title = translate(request, "Median first response per week (hours)")
    answered = sum(week.responses for week in weeks)
    summary = translate(
        request, "Weeks from %(first)s to %(last)s; first replies: %(count)s.",
        first=_day(request, weeks[0].week), last=_day(request, weeks[-1].week),
        count=_number(request, answered),
    )  # fmt: skip
    hours = [None if w.median_seconds is None else w.median_seconds / 3600 for w in weeks]
    svg = None
    if answered:
        chart = pygal.Bar(**_options(request, show_legend=False, min_scale=4, max_scale=6))
        chart.value_formatter = lambda value: _number(request, round(value or 0, 1))
        chart.x_labels = [_day(request, week.week) for week in weeks]
        chart.add(title, hours)
        svg = _render(chart, "first-response", title, summary)
    return Chart(
        "first-response", title, summary, svg,
        translate(request, "No first reply in the last 8 weeks."),
        [translate(request, "Week of"), translate(request, "Median (hours)"),
         translate(request, "First replies")],
        [[_day(request, week.week),
          "—" if value is None else _number(request, round(value, 1)),
          _number(request, week.responses)]
         for week, value in zip(weeks, hours, strict=True)],
    )  # fmt: skip
