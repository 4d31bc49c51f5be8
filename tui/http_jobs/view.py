"""How an HTTP job's request may be shown: every value masked (tui.masking), every string
inert (tui.text). The values of secret headers and URL parameters are masked by name, and
known secret values (secret headers, anything from Vault) are cut out of any text shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from tui.masking import MASK, mask
from tui.text import inert

# Header names whose values are credentials (the value is masked, the name kept).
SECRET_HEADER = re.compile(
    r"(?i)^(authorization|proxy-authorization|cookie|set-cookie|apikey|api[-_]?key|"
    r"x-[a-z0-9-]*(key|token|secret|signature)|[a-z0-9-]*(token|secret|password))$")
# URL query parameters whose values are credentials.
SECRET_PARAM = re.compile(r"(?i)(key|token|secret|sig|signature|password|passwd|auth)")
SCHEME = re.compile(r"(?i)^(bearer|basic|token)\s+")


@dataclass
class RequestView:
    """A request as it may be shown: every value masked, every string inert."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    params: list[tuple[str, str]]
    body: str | None
    timeout_ms: int | None
    timeout_text: str
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers),
                "params": dict(self.params), "body": self.body, "timeout_ms": self.timeout_ms,
                "source": self.source}

    def lines(self) -> list[str]:
        out = [f"{self.method} {self.url}"]
        out += [f"  {name}: {value}" for name, value in self.headers]
        if self.params:
            out.append("params: " + ", ".join(f"{k}={v}" for k, v in self.params))
        if self.body is not None:
            out.append(f"body: {self.body}")
        out.append(f"timeout: {self.timeout_text}")
        return out


def shown(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    return inert(mask(redact(text, secrets)) or "")


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """The text with each known secret value cut out (longest first)."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def secret_value(name: str, value: str) -> str:
    scheme = SCHEME.match(value)
    return f"{scheme.group(0) if scheme else ''}{MASK}"


def mask_url(url: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    try:
        parsed = httpx.URL(url)
        if parsed.query:
            pairs = [(k, MASK if SECRET_PARAM.search(k) else v)
                     for k, v in parsed.params.multi_items()]
            url = str(parsed.copy_with(params=pairs)).replace("%E2%80%A2", "•")
    except (httpx.InvalidURL, ValueError, TypeError):
        pass
    return shown(url, secrets)

