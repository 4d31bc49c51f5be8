"""Masking secrets in job commands and messages before they reach any output.

Everything shown, logged or exported goes through `mask()`. It errs on the side of
hiding: a value that merely looks like a key is hidden too. Names and references
(a Vault lookup by name, an environment variable's name, a header's name) stay readable.

How it stays linear in its input (it runs on every filter keystroke, over commands of any
size): each rule is one regular expression searched over the text once, written so that an
attempt at one position never rescans what an attempt at another position already scanned
(runs are entered only at their first character, repeats are bounded). Rules only report
the spans that hold a secret; the spans are merged and the text rebuilt once. Keyword rules
search a lower-cased copy, because case-insensitive alternations are several times slower in
Python's engine than case-sensitive ones.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, overload

MASK = "••••••"

Span = tuple[int, int]

# -- keyed values: a secret-sounding name, a separator, a value --------------------------------

def _trie(words: dict[str, str]) -> str:
    """One alternation for many words, shared prefixes factored out: Python's engine tries
    alternatives one by one, so a trie of them is several times faster than a flat list.
    `words` maps each word to what must follow (or be asserted) at its end."""
    # A node maps each next character to its child node, and "" to what follows a word's end.
    root: dict[str, Any] = {}
    for word, end in words.items():
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = end

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if "" in node:
            alts.append(node[""] or "")
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return emit(root)


def _not_after_word(word: str) -> str:
    # A lookbehind after the word rather than before it: a leading lookbehind would stop
    # the engine's fast scan for the first characters of the alternatives.
    return f"(?<![a-z0-9]{re.escape(word)})"


# Names that make a value secret wherever they are (any prefix: pgpassword, clientSecret,
# x-vault-token, app.settings.jwt_secret).
_ANY_PREFIX = ("password", "passwd", "passphrase", "secret", "token", "credential", "cookie",
               "signature", "authorization", "privatekey", "private_key", "private-key",
               "sessionid", "sessid", "honeycomb-team")
# Short names that count only as a whole word (not `oauth`, `monkey`, `passage`).
_WHOLE_WORD = ("pwd", "pass", "pw", "auth", "sig", "sas", "sid", "dsn", "hmac", "salt",
               "session_id", "session-id", "session_key", "session-key", "sessionkey")
# `key` counts after a separator or a telling prefix (x-functions-key, dd-api-key,
# ocp-apim-subscription-key, apikey, accountkey), not on its own: a bare "key" is too common.
_KEY_PREFIXES = ("api", "access", "secret", "private", "account", "client", "app", "master",
                 "license", "subscription", "shared", "signing", "encryption", "insert",
                 "sentry", "admin", "service", "ingest", "auth", "routing", "integration")
# (Checked in _keyed: a lookbehind per prefix in the pattern would cost at every "key".)
_KEY_END = r"(?<=[-_.a-z]key)(?P<key>)s?"
_NAMES = _trie({**{w: "s?" for w in _ANY_PREFIX}, **{w: _not_after_word(w) for w in _WHOLE_WORD},
                "key": _KEY_END})
# Final name parts that make the value a name, a place or a kind rather than the secret.
_NOT_SECRET_TAILS = {"name", "names", "url", "uri", "type", "file", "path", "len", "length",
                     "ttl", "expiry", "expires", "header", "field", "column", "hint", "count",
                     "endpoint", "policy", "schema", "table"}


def _atomic(name: str, pattern: str) -> str:
    """The pattern, matched once and never backtracked into (what (?>...) does from Python
    3.11): a lookahead is atomic, and the back-reference consumes what it matched."""
    return f"(?=(?P<{name}>{pattern}))(?P={name})"


_WS = r"[ \t\r\n]{0,8}"
_KEYED = re.compile(
    _NAMES + r"(?![a-z0-9])"
    + _atomic("tail", r"(?:[-_.][a-z0-9]+){0,4}")
    + r"""(?P<close>\\?["'`]|\])?"""
    + _atomic("ws1", _WS)
    + r"(?P<sep>:=|=>|=|:|,|%3d|to\b|(?<=[ \t\r\n]))"
    + _atomic("ws2", _WS)
    + r"""(?P<val>
        ''(?:[^']|'''')+''
      | e?'(?:[^'\\]|''|\\.)+'
      | "(?:[^"\\]|\\.)+"
      | \\"(?:[^"\\]|\\[^"])+\\"
      | `[^`]+`
      | \$(?:[a-z_][a-z0-9_]*)?\$
      | (?P<bare>[^\s'"`,;&()<>\[\]{}\\|]+)
    )""", re.X)

# Schemes whose word stays readable in an Authorization value; the credential after them
# is found by _SCHEMED.
_SCHEME_WORDS = {"bearer", "basic", "token", "digest", "negotiate", "ntlm", "sharedkey",
                 "hawk", "aws4-hmac-sha256", "sentry", "otp", "apikey", "key", "jwt"}
# Header-like names whose unquoted value runs to the end of the line (cookies hold
# several `name=value;` pairs, Authorization holds a scheme and its credential).
_WHOLE_LINE = ("cookie", "cookies", "authorization")
_LINE_END = re.compile(r"[\r\n'\"`]")
# Whole-word values that are SQL or code rather than secrets.
_NOT_VALUES = {"null", "none", "true", "false", "default", "current_setting", "select",
               "encode", "decode", "coalesce", "format", "concat", "md5", "crypt", "excluded",
               "new", "old", "?", "********", "xxx", "redacted"}
_DOLLAR_TAG = re.compile(r"\$(?:[a-z_][a-z0-9_]*)?\$")


class _DollarQuotes:
    """Where each dollar-quote tag stands, found in one scan when first needed (a search of
    its own for each opening's end would be quadratic on unclosed ones)."""

    def __init__(self, low: str):
        self.low = low
        self.at: dict[str, list[int]] | None = None

    def end_after(self, tag: str, pos: int) -> int:
        if self.at is None:
            self.at = {}
            for m in _DOLLAR_TAG.finditer(self.low):
                self.at.setdefault(m.group(), []).append(m.start())
        places = self.at.get(tag, [])
        i = bisect_left(places, pos)
        return places[i] if i < len(places) else -1


def _key_counts(low: str, name_start: int, name_end: int) -> bool:
    """Whether a `key` in the name is a credential's: after a separator (x-functions-key)
    or a telling prefix (apikey), not inside a word (monkey)."""
    key_at = low.rfind("key", name_start, name_end)
    before = low[max(key_at - 12, 0):key_at]
    return before[-1:] in ("-", "_", ".") or before.endswith(_KEY_PREFIXES)


_G = _KEYED.groupindex
_TAIL, _KEYG, _CLOSE, _SEP, _VAL, _BARE = (_G[n] - 1 for n in (
    "tail", "key", "close", "sep", "val", "bare"))
_TAIL_SPLIT = re.compile(r"[-_.]")


def _keyed(low: str, spans: list[Span]) -> None:
    dollars = _DollarQuotes(low)
    add = spans.append
    search = _KEYED.search
    pos = 0
    while (m := search(low, pos)) is not None:
        pos = m.end()
        # One groups() call: this loop runs once per name found, which on a text dense
        # with names is what the rule costs.
        groups = m.groups()
        tail = groups[_TAIL]
        name_start = m.start()
        name_end = m.end(_TAIL + 1)
        if tail and _TAIL_SPLIT.split(tail)[-1] in _NOT_SECRET_TAILS:
            continue
        if groups[_KEYG] is not None and not _key_counts(low, name_start, name_end):
            continue
        sep = groups[_SEP]
        start, end = m.span(_VAL + 1)
        first = low[start]
        if first == "$":  # dollar-quoted: it ends at the same tag
            closing = dollars.end_after(groups[_VAL], end)
            if closing >= end:
                add((end, closing))
                pos = closing + len(groups[_VAL])  # what it quotes is the secret: skip it
            continue
        if sep == "," and groups[_CLOSE] is None:
            continue  # a list of columns, not a name and its value
        bare = groups[_BARE]
        if bare is not None:
            # A bare word counts after = and : only (password=x, Cookie: a=b); after =>,
            # :=, TO, a comma or a space it is an expression or a column.
            if sep not in ("=", ":", "%3d") or bare in _NOT_VALUES:
                continue
            if sep == ":":
                if bare in _SCHEME_WORDS:
                    continue  # "Authorization: Bearer x": the credential is _SCHEMED's
                if low.endswith(_WHOLE_LINE, name_start, name_end):
                    stop = _LINE_END.search(low, start)
                    end = stop.start() if stop else len(low)
            add((start, end))
            continue
        # Quoted: mask inside the quotes, keeping an Authorization scheme readable.
        opening = 1 if first == "e" else 0
        opening += 2 if low.startswith(("''", '\\"'), start + opening) else 1
        closing = 2 if opening - (first == "e") == 2 else 1
        inner_start, inner_end = start + opening, end - closing
        if low[inner_start] in "bdst":  # bearer, basic, digest, sharedkey, sentry, token
            scheme = _SCHEME_PREFIX.match(low, inner_start, inner_end)
            if scheme:
                inner_start = scheme.end()
        if inner_end > inner_start:
            add((inner_start, inner_end))


_SCHEME_PREFIX = re.compile(r"(?:bearer|basic|token|digest|sharedkey|sentry)[ \t]+")

# A credential after an HTTP auth scheme, wherever it stands (messages, curl lines).
_SCHEMED = re.compile(_trie({w: _not_after_word(w) for w in ("bearer", "basic", "token")})
                      + r"[ \t]+([a-z0-9._~+/=:-]{8,})")


def _schemed(low: str, spans: list[Span]) -> None:
    if "bearer" not in low and "basic" not in low and "token" not in low:
        return
    for m in _SCHEMED.finditer(low):
        value = m.group(1)
        # "token authentication failed": a word, not a credential
        if low[m.start()] == "t" and not re.search(r"[0-9._~+/=-]", value) and len(value) < 24:
            continue
        spans.append(m.span(1))


# -- positional secrets of known SQL statements and functions ----------------------------------

_LIT = r"(?:e?'(?:[^'\\]|''|\\.)*'|\$\$[^$]*\$\$)"
_S = r"[ \t\r\n]*"
# A first argument without parentheses: a column, a cast, or one literal.
_FIRST_ARG = _atomic("arg", rf"[^,()']{{0,200}}(?:{_LIT}[^,()']{{0,200}})?")
# (what the text must hold for the rule to be worth a scan, the rule); the last group is
# the secret
_POSITIONAL = [
    ("identified", re.compile(
        rf"identified{_not_after_word('identified')}[ \t\r\n]+by{_S}({_LIT})")),
    ("vault.", re.compile(
        rf"vault\.create_secret{_S}\({_S}(?:new_secret{_S}(?::=|=>){_S})?({_LIT})")),
    ("vault.", re.compile(rf"vault\.update_secret{_S}\({_S}{_LIT}{_S},{_S}({_LIT})")),
    ("crypt", re.compile(
        r"(?:pgp_sym_(?:en|de)crypt(?:_bytea)?|(?:en|de)crypt(?:_iv)?)"
        rf"{_S}\({_FIRST_ARG},{_S}({_LIT})")),
    ("hmac", re.compile(rf"hmac{_S}\({_FIRST_ARG},{_S}({_LIT})")),
    ("crypt", re.compile(rf"crypt{_not_after_word('crypt')}{_S}\({_S}({_LIT})")),
    ("-u", re.compile(r"-u(?<![a-z0-9-]-u)[ \t]+['\"]?[^\s:'\"]{1,200}:([^\s'\"]{1,500})")),
    ("--user", re.compile(r"--user[ \t=]+['\"]?[^\s:'\"]{1,200}:([^\s'\"]{1,500})")),
]


def _positional(low: str, spans: list[Span]) -> None:
    for needle, pattern in _POSITIONAL:
        if needle not in low:
            continue
        for m in pattern.finditer(low):
            start, end = m.span(pattern.groups)  # the last group: the secret
            if low[start] in "'e$":  # a literal: what is between its quotes
                start += 2 if low[start] in "e$" else 1
                end -= 2 if low[end - 1] == "$" else 1
            if end > start:
                spans.append((start, end))


# -- URLs ----------------------------------------------------------------------------------

# scheme://user:password@host (a password may hold @: the last @ before the path counts)
_USERINFO = re.compile(r"://([^\s/?#@:'\"`<>]*):([^\s/'\"`<>]+)@")
# scheme://TOKEN@host (Sentry DSNs, tokens used as the user name)
_TOKEN_USER = re.compile(r"://([a-z0-9_-]{16,})@")
# Query parameters that hold secrets whatever their value looks like.
_QUERY = re.compile(r"[?&;#](?:code|key|k|sig|hash|otp)=([^&#\s'\"`<>]+)")
# Webhook URLs whose path is the credential.
_WEBHOOKS = re.compile(
    r"""(?:
        hooks\.slack\.com/(?:services|workflows|triggers)/
      | discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/
      | api\.telegram\.org/(?:file/)?bot
      | \.webhook\.office\.com/webhookb2/
      | hooks\.zapier\.com/hooks/catch/
      | maker\.ifttt\.com/(?:trigger/[^/\s'"]+/(?:json/)?with/key|use)/
      | /hooks/(?=[a-z0-9]{20,})
      | chat\.googleapis\.com/v1/spaces/[^/\s'"]+/messages\?
    )([^\s'"`<>?#]+)""", re.X)


def _urls(low: str, spans: list[Span]) -> None:
    if "://" in low:
        for m in _USERINFO.finditer(low):
            spans.append(m.span(2))
        for m in _TOKEN_USER.finditer(low):
            spans.append(m.span(1))
    if "=" in low:
        for m in _QUERY.finditer(low):
            spans.append(m.span(1))
    if "hook" in low or "bot" in low or "chat." in low or "ifttt" in low:
        for m in _WEBHOOKS.finditer(low):
            spans.append(m.span(1))


# -- token shapes (case matters: run on the original text) ----------------------------------

# Shapes that the random-run rule below can miss (too short, one case only, split by dots),
# each a regex with a literal start: the engine finds a literal start by a fast substring
# search, which an alternation of many starts would not get.
_SHAPES = [re.compile(p) for p in (
    # AWS access key ids (AKIA long-term, ASIA temporary, and the other IAM id kinds)
    r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA|BIA|CCA)(?<![A-Za-z0-9_]A....)[A-Z0-9]{16}",
    r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",  # SendGrid
    r"AIza[0-9A-Za-z_-]{30,}",  # Google API keys
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",  # JWTs
    r"gl(?:pat|dt|rt|ptt|soat|cbt|imt|agent|ft|oas)-[A-Za-z0-9_-]{16,}",  # GitLab
    r"GR1348941[A-Za-z0-9_-]{16,}",  # GitLab runner registration
    r"xox[abposre]-[A-Za-z0-9-]{10,}",  # Slack
    r"hv[sb]\.[A-Za-z0-9_-]{20,}",  # HashiCorp Vault
)]
# Anything long enough, mixed enough, to be a random key (AWS secret keys, opaque API keys,
# hex keys): letters of both cases and at least two digits, switching often, or 32+ hex
# digits. UUIDs stay readable, and so do paths and CamelCase names.
_RANDOM = re.compile(r"[A-Za-z0-9+/_=-]{24,}")
_HEX_RUN = re.compile(r"[0-9a-f]{32,}")
_HAS_LOWER = re.compile("[a-z]")
_TWO_DIGITS = re.compile("[0-9][^0-9]*[0-9]")
_HAS_UPPER = re.compile("[A-Z]")
# Where lower case, upper case and digits take turns: often in a random string, seldom in a
# name (mv_CustomerLifetimeValue2024Q4 switches 8 times in 30 characters, a random key of
# that length about 16 times).
_SWITCH = re.compile("[a-z](?=[A-Z0-9])|[A-Z](?=[a-z0-9])|[0-9](?=[A-Za-z])")


def _switches_often(run: str) -> bool:
    # The first 256 characters tell: a random string is random all along.
    sample = min(len(run), 256)
    return len(_SWITCH.findall(run, 0, sample)) >= sample * 0.3


def _shapes(text: str, spans: list[Span]) -> None:
    for pattern in _SHAPES:
        for m in pattern.finditer(text):
            spans.append(m.span())
    for m in _RANDOM.finditer(text):
        run = m.group()
        if run.count("/") > 2:
            continue  # a path
        if (_TWO_DIGITS.search(run) and _HAS_LOWER.search(run) and _HAS_UPPER.search(run)
                and _switches_often(run)):
            spans.append(m.span())
        else:
            start = m.start()
            for h in _HEX_RUN.finditer(run):
                spans.append((start + h.start(), start + h.end()))


# -- private key blocks --------------------------------------------------------------------

_PEM = re.compile(r"-----begin ([a-z0-9 ]{0,40})private key( block)?-----")
_PEM_BODY = re.compile(r"[a-z0-9+/=\s\\:,.-]*")


def _pem(low: str, spans: list[Span]) -> None:
    if "-----begin" not in low:
        return
    at = 0
    end_line = low.find("-----end")
    while (m := _PEM.search(low, at)) is not None:
        if 0 <= end_line < m.end():
            end_line = low.find("-----end", m.end())
        following = low.find("-----begin", m.end(), end_line if end_line >= 0 else len(low))
        if end_line >= 0 and following < 0:
            end = end_line
        else:  # no end line of its own (cut short): hide the key material that follows
            stop = following if following >= 0 else len(low)
            body = _PEM_BODY.match(low, m.end(), stop)
            end = body.end() if body else m.end()
        spans.append((m.end(), end))
        at = max(end, m.end())  # what was scanned is not scanned again


# -- putting it together ---------------------------------------------------------------------

_RULES_LOW: tuple[Callable[[str, list[Span]], None], ...] = (
    _keyed, _schemed, _positional, _urls, _pem)


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two: keep offsets aligned
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low


def secret_spans(text: str, known: Iterable[str] = ()) -> list[Span]:
    """The merged, sorted spans of `text` that hold a secret."""
    low = _lower(text)
    spans: list[Span] = []
    for rule in _RULES_LOW:
        rule(low, spans)
    _shapes(text, spans)
    for value in known:
        if len(value) >= 4:
            at = text.find(value)
            while at >= 0:
                spans.append((at, at + len(value)))
                at = text.find(value, at + len(value))
    if not spans:
        return []
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged


def _apply(text: str, spans: list[Span]) -> str:
    if not spans:
        return text
    out = []
    at = 0
    for start, end in spans:
        out.append(text[at:start])
        out.append(MASK)
        at = end
    out.append(text[at:])
    return "".join(out)


def mask_uncached(text: str, known: Iterable[str] = ()) -> str:
    return _apply(text, secret_spans(text, known))


#: Texts longer than this are masked anew each time rather than kept (memory stays bounded).
_CACHED_UP_TO = 64 * 1024


@lru_cache(maxsize=4096)
def _mask_cached(text: str) -> str:
    return mask_uncached(text)


@overload
def mask(text: str, known: Iterable[str] = ()) -> str: ...
@overload
def mask(text: str | None, known: Iterable[str] = ()) -> str | None: ...


def mask(text: str | None, known: Iterable[str] = ()) -> str | None:
    """The text with every secret we can recognise replaced by a mask, and every value of
    `known` (values resolved from Vault, say) cut out wherever it stands."""
    if not text:
        return text
    known = tuple(k for k in known if k)
    if known or len(text) > _CACHED_UP_TO:
        return mask_uncached(text, known)
    # The same commands are masked again at every refresh and filter keystroke.
    return _mask_cached(text)
