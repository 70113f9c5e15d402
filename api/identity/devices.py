"""What a User-Agent header says about the device: "Chrome 120" on "Linux", for the sessions list
and the login history. Parsed with ua-parser's bundled regexes (no network); cached because the
same few agents come back on every page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

MAX_AGENT_LENGTH = 500


@dataclass(frozen=True)
class Device:
    browser: str  # "Chrome 120", or the agent's first product token ("python-httpx 0.28.1")
    os: str  # "Linux", "Windows 10", "iOS 17.1"; "" when unknown


def _version(family: str, *parts: str | None) -> str:
    numbers = [part for part in parts if part]
    return f"{family} {'.'.join(numbers)}".strip() if numbers else family


@lru_cache(maxsize=1024)
def describe(user_agent: str) -> Device:
    agent = (user_agent or "")[:MAX_AGENT_LENGTH]
    if not agent.strip():
        return Device("", "")
    result = parse(agent)
    if result.user_agent is not None and result.user_agent.family != "Other":
        browser = _version(result.user_agent.family, result.user_agent.major)
    else:
        # Scripts and API clients ("python-httpx/0.28.1", "curl/8.5.0"): their product token.
        product = agent.split()[0][:60]
        browser = product.replace("/", " ", 1)
    os = ""
    if result.os is not None and result.os.family != "Other":
        os = _version(result.os.family, result.os.major, result.os.minor)
    return Device(browser, os)
