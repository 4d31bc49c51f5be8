"""What masking secrets costs, on ordinary and hostile commands (`python -m benchmarks --mask`).

`mask()` runs on every refresh and every filter keystroke, over commands of any size. This
measures it on commands of 10 KB, 100 KB and 1 MB: a large ordinary SQL script, the secret
corpus's shapes over and over, and inputs built to make a backtracking regular expression
rescan (long runs of one character class, unclosed quotes, `scheme://user:` without an @,
private key headers without an end line, names without a value). The previous implementation
(kept below, only for this comparison) is measured on the same inputs while it stays within
a time budget; past it, its figure is left out rather than waited for.

Nothing here asserts: it prints the best of a few runs in milliseconds, the growth from
100 KB to 1 MB (10 means linear), and the ratio against the old implementation.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from tui.masking import mask_uncached

SIZES = (10_000, 100_000, 1_000_000)
#: Stop measuring the old implementation on an input once one call takes longer than this
#: (it is quadratic on some inputs: ten times the input can take a hundred times as long).
OLD_BUDGET_S = 1.0

# An ordinary command: the kind of SQL a nightly job holds, with a credential now and then.
_SCRIPT = (
    "insert into analytics.daily_usage (day, customer_id, events, bytes)\n"
    "select date_trunc('day', created_at), customer_id, count(*), sum(size)\n"
    "  from events.raw where created_at >= now() - interval '1 day' group by 1, 2;\n"
    "select dblink_exec('host=10.0.4.12 dbname=billing user=etl password=Xk2-9vLw-Qe', "
    "'call billing.close_day()');\n"
    "delete from cron.job_run_details where end_time < now() - interval '7 days';\n"
)

# Secrets of many shapes, one after the other (fake values).
_SECRETS = (
    "ALTER ROLE app PASSWORD 'it''s-Tr0ub4dor&3'; select set_config('app.secret_token', "
    "'9f8e7d6c5b4a39281706f5e4d3c2b1a0', false);\n"
    "select net.http_post(url := 'https://hooks.slack.com/services/T0AB12CD/B0EF34GH/"
    "Zx8Kq2Lm9Np4Rs7Tv1Wy3Ab', headers := jsonb_build_object('x-functions-key', "
    "'q8Zr2-Lm4Kp9Wd7', 'Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZSJ9."
    "c2lnbmF0dXJlLXZhbHVlLWhlcmU'), body := jsonb_build_object('password', 'h0rse-B4ttery'));\n"
    "postgresql://etl:S3cr3t-P4ss@db.internal:5432/app AKIAZ7Q2M4N6P8R0T1V3 "
    "ghp_4fK9sL2mQ8wE1rT6yU3iO7pA5dF0gH9jK2lZ\n"
)

CASES: dict[str, str] = {
    "SQL script": _SCRIPT,
    "secrets of many shapes": _SECRETS,
    "letters": "a",
    "identifier_parts_": "api_key_x_y_z_",
    "scheme://user:": "x://a:",
    "unclosed quotes": "'",
    "doubled quotes": "''",
    "password=": "password=",
    "secret name, quote": "'apikey': '",
    "named arg": "p_password => 'x",
    "BEGIN PRIVATE KEY": "-----BEGIN PRIVATE KEY-----",
    "bearer": "bearer ",
    "mixed-case runs": "aB3",
    "dollar quotes": "password=$$",
    "spaces": " ",
}


# -- the implementation before issue 12, for the ratio ------------------------------------------

_OLD_MASK = "••••••"
_OLD_NAMES = (
    r"authorization|proxy-authorization|apikey|api[-_]?key|x-api-key|access[-_]?token|"
    r"auth[-_]?token|token|secret|client[-_]?secret|password|passwd|pwd"
)
_OLD_QUOTED = r"""(?:'(?:[^']|'')*'|"(?:[^"\\]|\\.)*")"""


def _old_pair(match: re.Match[str]) -> str:
    value = match.group("val")
    scheme = re.match(r"(?i)(bearer|basic|token)(\s+|$)", value)
    if scheme and not value[scheme.end():].strip():
        return match.group(0)
    kept = scheme.group(0) if scheme else ""
    return f"{match.group('key')}{match.group('q')}{kept}{_OLD_MASK}{match.group('q')}"


def _old_assignment(match: re.Match[str]) -> str:
    name = match.group("name")
    if name.lower() == "key":
        return match.group(0)
    value = match.group("val")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{name}{match.group('sep')}{quote}{_OLD_MASK}{quote}"


_OLD_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(rf"""(?ix)
        (?P<key>['"](?:{_OLD_NAMES})['"]\s*(?:,|:|=>)\s*)
        (?P<q>['"])(?P<val>(?:(?!(?P=q)).)+)(?P=q)"""), _old_pair),
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2" + _OLD_MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), _OLD_MASK),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s'\"]*:)[^@\s'\"]+@"),
     r"\1" + _OLD_MASK + "@"),
    (re.compile(rf"""(?ix)
        \b(?P<name>(?:[a-z0-9_]*_)?(?:{_OLD_NAMES}|key)|pgpassword)
        (?P<sep>\s*(?:=|:)\s*)
        (?P<val>{_OLD_QUOTED}|[^\s,;)'"]+)"""), _old_assignment),
    (re.compile(r"\b(sk|rk|pk|ghp|gho|ghs|xox[abpr])[-_][A-Za-z0-9_-]{12,}"), _OLD_MASK),
]


def old_mask(text: str) -> str:
    for pattern, repl in _OLD_RULES:
        text = pattern.sub(repl, text)
    return text


# -- measuring --------------------------------------------------------------------------------

def _best_ms(fn: Callable[[str], str], text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(text)
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def _fmt(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:,.1f}" if ms < 10_000 else f"{ms / 1000:,.0f} s"


def run(sizes: tuple[int, ...] = SIZES, *, old: bool = True, repeat: int = 3) -> str:
    cases = dict(CASES)
    head = ["input"] + [f"new {s // 1000:,} KB" for s in sizes] + ["growth x10"]
    if old:
        head += [f"old {s // 1000:,} KB" for s in sizes] + ["old/new"]
    rows = [head]
    for name, unit in cases.items():
        new_ms: list[float] = []
        old_ms: list[float | None] = []
        over_budget = not old
        for size in sizes:
            text = (unit * (size // len(unit) + 1))[:size]
            new_ms.append(_best_ms(mask_uncached, text, repeat))
            if over_budget:
                old_ms.append(None)
                continue
            took = _best_ms(old_mask, text, 1)
            old_ms.append(took)
            over_budget = took > OLD_BUDGET_S * 1000
        growth = new_ms[-1] / new_ms[-2] if len(new_ms) > 1 and new_ms[-2] else 0.0
        row = [name] + [_fmt(ms) for ms in new_ms] + [f"{growth:.1f}"]
        if old:
            pairs = [(o, n) for o, n in zip(old_ms, new_ms) if o is not None]
            ratio = f"{pairs[-1][0] / pairs[-1][1]:.1f}x" if pairs else "-"
            row += [_fmt(ms) for ms in old_ms] + [ratio]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["mask(): best of runs, milliseconds (old/new: at the largest size the old one "
             f"was measured at; '-': the old one took over {OLD_BUDGET_S:g} s at a smaller size)"]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def main(args: argparse.Namespace | None = None) -> int:
    quick = bool(args and getattr(args, "quick", False))
    print(run((10_000, 100_000) if quick else SIZES, old=True, repeat=1 if quick else 3))
    return 0
