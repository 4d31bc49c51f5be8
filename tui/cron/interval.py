"""pg_cron's interval schedules (1.5+): ``N seconds``, read as ``TryParseInterval`` reads them."""

from __future__ import annotations

_ASCII_DIGITS = frozenset("0123456789")
_C_SPACE = frozenset(" \t\n\v\f\r")  # C isspace(), used by sscanf
_ULONG_MAX = 2**64 - 1



def _scan_unsigned(s: str, i: int) -> tuple[int, int] | None:
    """glibc scanf %u: optional blanks and sign, decimal digits, strtoul wrap-around."""
    while i < len(s) and s[i] in _C_SPACE:
        i += 1
    negative = False
    if i < len(s) and s[i] in "+-":
        negative = s[i] == "-"
        i += 1
    start = i
    while i < len(s) and s[i] in _ASCII_DIGITS:
        i += 1
    if i == start:
        return None
    value = int(s[start:i])
    if value > _ULONG_MAX:
        value = _ULONG_MAX
    elif negative:
        value = (-value) % 2**64
    return value & 0xFFFFFFFF, i


def _parse_seconds(expr: str) -> int | None:
    """pg_cron's TryParseInterval: ``sscanf(lower(expr), " %u secon%c%c %c")``.

    Returns N when pg_cron would accept the text as an interval, else None. The odd cases
    follow from sscanf: '5seconds' and '+5 seconds' pass, '5 second ' (trailing blank) fails
    while '5 seconds ' passes.
    """
    s = "".join(c.lower() if c.isascii() else c for c in expr)
    scanned = _scan_unsigned(s, 0)
    if scanned is None:
        return None
    value, i = scanned
    while i < len(s) and s[i] in _C_SPACE:
        i += 1
    if not s.startswith("secon", i) or i + 5 >= len(s) or s[i + 5] != "d":
        return None
    i += 6
    if i == len(s):  # "<n> second"
        return value if 0 < value < 60 else None
    plural = s[i]
    i += 1
    while i < len(s) and s[i] in _C_SPACE:
        i += 1
    if i == len(s) and plural == "s":  # "<n> seconds", trailing blanks allowed
        return value if 0 < value < 60 else None
    return None


def _parse_seconds_ignoring_range(expr: str) -> bool:
    words = expr.lower().split()
    return len(words) == 2 and words[0].isdigit() and words[1] in ("second", "seconds")
