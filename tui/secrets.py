"""Masking secrets in job commands and messages before they reach any output.

Everything shown, logged or exported goes through `mask()`. It errs on the side of
hiding: a value that merely looks like a key is hidden too. Names and references
(a Vault lookup by name, an environment variable's name) stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "••••••"

# Header and setting names whose values are credentials.
_SECRET_NAMES = (
    r"authorization|proxy-authorization|apikey|api[-_]?key|x-api-key|access[-_]?token|"
    r"auth[-_]?token|token|secret|client[-_]?secret|password|passwd|pwd"
)
_QUOTED = r"""(?:'(?:[^']|'')*'|"(?:[^"\\]|\\.)*")"""

def _pair(match: re.Match[str]) -> str:
    value = match.group("val")
    scheme = re.match(r"(?i)(bearer|basic|token)(\s+|$)", value)
    if scheme and not value[scheme.end():].strip():
        return match.group(0)  # only the scheme: the secret is concatenated from elsewhere
    kept = scheme.group(0) if scheme else ""
    return f"{match.group('key')}{match.group('q')}{kept}{MASK}{match.group('q')}"


def _assignment(match: re.Match[str]) -> str:
    name = match.group("name")
    if name.lower() == "key":  # a bare "key = ..." is too common to be a secret by itself
        return match.group(0)
    value = match.group("val")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{name}{match.group('sep')}{quote}{MASK}{quote}"


_Repl = str | Callable[[re.Match[str]], str]
_RULES: list[tuple[re.Pattern[str], _Repl]] = [
    # JSON / jsonb_build_object pairs: 'Authorization', 'Bearer x'  or  "apikey": "x"
    (re.compile(rf"""(?ix)
        (?P<key>['"](?:{_SECRET_NAMES})['"]\s*(?:,|:|=>)\s*)
        (?P<q>['"])(?P<val>(?:(?!(?P=q)).)+)(?P=q)"""), _pair),
    # Bearer / Basic tokens wherever they stand
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2" + MASK),
    # JWT-shaped strings (three base64url parts, the first one a JSON header)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # passwords in URIs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s'\"]*:)[^@\s'\"]+@"), r"\1" + MASK + "@"),
    # conninfo and assignments: password=..., PGPASSWORD=..., FOO_SECRET: '...'
    (re.compile(rf"""(?ix)
        \b(?P<name>(?:[a-z0-9_]*_)?(?:{_SECRET_NAMES}|key)|pgpassword)
        (?P<sep>\s*(?:=|:)\s*)
        (?P<val>{_QUOTED}|[^\s,;)'"]+)"""), _assignment),
    # Long, key-shaped literals after a sk_/pk_/ghp_/xox prefix (Stripe, GitHub, Slack)
    (re.compile(r"\b(sk|rk|pk|ghp|gho|ghs|xox[abpr])[-_][A-Za-z0-9_-]{12,}"), MASK),
]



def mask(text: str | None) -> str | None:
    """The text with every secret we can recognise replaced by a mask."""
    if not text:
        return text
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text
