"""Sending an evaluated HTTP job's request from this machine with httpx: a timeout, TLS
verification, proxies from the environment, no redirects followed, at most MAX_BODY bytes of
the answer read. The result is masked and inert throughout, and the request's secret values
are cut out of whatever the server answers."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tui.http_jobs.evaluate import Request
from tui.http_jobs.view import SECRET_HEADER, RequestView, mask_url, shown
from tui.masking import MASK

#: The most of a response body read (the rest is left unread and the body marked cut).
MAX_BODY = 64 * 1024


@dataclass
class HttpResult:
    """The answer to one send, fit to show: masked and inert throughout."""

    request: RequestView
    status: int | None = None
    reason: str | None = None
    latency_ms: float | None = None  # until the response's headers arrived
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""  # the start of the body, decoded, masked, inert
    body_bytes: int = 0  # how many bytes were read
    truncated: bool = False  # the body went on past MAX_BODY and was not read
    location: str | None = None  # a redirect's target (not followed)
    error: str | None = None  # a sentence: why no answer came
    error_kind: str | None = None  # timeout, refused, tls, dns, invalid, connection

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < 400

    @property
    def redirect(self) -> bool:
        return self.status is not None and 300 <= self.status < 400

    def summary(self) -> str:
        if self.error is not None:
            return self.error
        line = f"{self.status} {self.reason or ''}".rstrip()
        line += f" in {self.latency_ms:.0f} ms"
        if self.redirect:
            line += f"; redirect to {self.location or '(no Location)'}, not followed"
        return line

    def as_json(self) -> dict[str, Any]:
        return {"request": self.request.as_json(), "status": self.status, "reason": self.reason,
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
                "headers": [list(h) for h in self.headers], "body": self.body,
                "body_bytes": self.body_bytes, "truncated": self.truncated,
                "location": self.location, "error": self.error, "error_kind": self.error_kind,
                "ok": self.ok}


def _failure(exc: BaseException, url: str, timeout_s: float) -> tuple[str, str]:
    where = url
    try:
        parsed = httpx.URL(url)
        where = f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
    except (httpx.InvalidURL, ValueError, TypeError):
        pass
    if isinstance(exc, (httpx.TimeoutException, TimeoutError, asyncio.TimeoutError)):
        return "timeout", (f"timeout: no complete answer from {where} within {timeout_s:g} s "
                           "(the call's timeout_milliseconds)")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return "invalid", f"invalid URL: {exc}"
    text = str(exc)
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            detail = link.verify_message or link.reason or str(link)
            return "tls", (f"TLS failure: the certificate of {where} was refused ({detail}); "
                           "TLS verification is on")
        if isinstance(link, ssl.SSLError):
            return "tls", f"TLS failure talking to {where}: {link.reason or link}"
        if isinstance(link, ConnectionRefusedError):
            return "refused", f"connection refused: nothing accepts connections at {where}"
    lowered = text.lower()
    if "connection refused" in lowered or "errno 111" in lowered:
        return "refused", f"connection refused: nothing accepts connections at {where}"
    if "certificate" in lowered or "ssl" in lowered:
        return "tls", f"TLS failure talking to {where}: {text}"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or \
            "temporary failure in name resolution" in lowered:
        return "dns", f"could not resolve the host of {where}: {text}"
    if isinstance(exc, httpx.LocalProtocolError):
        return "invalid", f"the request could not be sent as given: {text}"
    if isinstance(exc, httpx.HTTPError):
        return "connection", f"no answer from {where}: {text or type(exc).__name__}"
    return "connection", f"sending failed: {text or type(exc).__name__}"


async def send(request: Request, *, max_body: int = MAX_BODY,
               verify: bool | ssl.SSLContext = True) -> HttpResult:
    """Send the request from this machine: TLS verification on, proxies from the
    environment, redirects reported but not followed, the call's timeout for the whole
    exchange, at most `max_body` bytes of the answer read. Never raises for the network's
    failures: they are in `error`."""
    view = request.view()
    secrets = request.secrets()
    result = HttpResult(request=view)
    timeout_s = max(request.timeout_ms, 1) / 1000
    content = None
    if request.method == "POST":
        content = json.dumps(request.body, ensure_ascii=False).encode()

    async def exchange() -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), verify=verify,
                                     trust_env=True, follow_redirects=False) as client:
            built = client.build_request(request.method, request.url,
                                         headers=request.headers,
                                         params=request.params or None, content=content)
            started = time.perf_counter()
            response = await client.send(built, stream=True)
            try:
                result.latency_ms = (time.perf_counter() - started) * 1000
                result.status = response.status_code
                result.reason = shown(response.reason_phrase, secrets)
                result.headers = [
                    (shown(k), MASK if SECRET_HEADER.match(k) else shown(v, secrets))
                    for k, v in response.headers.multi_items()]
                if result.redirect and "location" in response.headers:
                    result.location = mask_url(response.headers["location"], secrets)
                chunks: list[bytes] = []
                read = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    read += len(chunk)
                    if read > max_body:
                        result.truncated = True
                        break
                raw = b"".join(chunks)[:max_body]
                result.body_bytes = len(raw)
                result.body = shown(raw.decode(response.encoding or "utf-8", "replace"),
                                     secrets)
            finally:
                await response.aclose()

    try:
        await asyncio.wait_for(exchange(), timeout_s + 0.5)
    except (httpx.HTTPError, OSError, ssl.SSLError, TimeoutError, asyncio.TimeoutError,
            ValueError) as exc:
        if result.status is not None and isinstance(
                exc, (httpx.TimeoutException, TimeoutError, asyncio.TimeoutError)):
            result.truncated = True  # headers came, the body did not finish in time
            result.error_kind = "timeout"
            result.error = (f"timeout: the body did not finish within {timeout_s:g} s; "
                            "showing the status and headers only")
            return result
        result.status = result.reason = result.latency_ms = None
        result.headers = []
        kind, sentence = _failure(exc, request.url, timeout_s)
        result.error_kind = kind
        result.error = shown(sentence, secrets)
    return result
