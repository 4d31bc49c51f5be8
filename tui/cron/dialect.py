"""Schedules written in another cron's dialect, and what pg_cron really does with them.

Quartz, Spring and AWS write six or seven fields (seconds first, or a year last), '?' for "no
specific value", 'L' (last), 'W' (nearest weekday) and '#' (nth weekday). pg_cron knows none of
them: it reads the first five fields and ignores the rest (so Quartz's noon-daily
``0 0 12 * * ?`` runs at 00:00 on the 12th), skips what follows a complete item ('MON#2' is every
Monday), and rejects the others. ``check`` here is grammar's verdict with those cases worded:
a warning saying what pg_cron will really do when it accepts the schedule, a hint naming the
dialect and pg_cron's way when it rejects it.
"""

from __future__ import annotations

from dataclasses import replace

from .describe import describe
from .grammar import check as grammar_check
from .grammar import parse
from .model import Verdict

_FIVE = "minute hour day-of-month month day-of-week"


def _fields(expr: str) -> list[str]:
    return expr.split()


def _looks_foreign(expr: str) -> bool:
    """Six or seven fields, or a '?' anywhere: the shapes of Quartz, Spring and AWS."""
    fields = _fields(expr)
    return not expr.lstrip().startswith(("@", "#")) and (
        len(fields) in (6, 7) or any("?" in f for f in fields))


def _shifted(expr: str, version: str) -> str | None:
    """The pg_cron schedule a seconds-first six/seven-field one most likely meant, if pg_cron
    accepts it and the seconds field is 0 (pg_cron cannot say anything finer than a minute)."""
    fields = _fields(expr)
    if len(fields) not in (6, 7) or fields[0] != "0":
        return None
    candidate = " ".join("*" if f == "?" else f for f in fields[1:6])
    return candidate if parse(candidate, version) is not None else None


def foreign_fields_warning(expr: str, version: str) -> str | None:
    """For an accepted schedule of six or seven fields (or with a '?' past the fifth)."""
    if not _looks_foreign(expr):
        return None
    fields = _fields(expr)
    if len(fields) <= 5 or fields[5].startswith("#"):  # a comment, as in a crontab
        return None
    five, rest = " ".join(fields[:5]), " ".join(fields[5:])
    words = ("Six" if len(fields) == 6 else "Seven")
    text = (f"pg_cron reads five fields and ignores the rest: '{rest}' has no effect. "
            f"{words} fields look like another cron's (Quartz and Spring put seconds first, "
            f"AWS a year last); pg_cron reads '{five}' as {_FIVE}, so it runs "
            f"{describe(expr, version)}.")
    meant = _shifted(expr, version)
    if meant is not None:
        text += f" If the first field was seconds, write '{meant}' ({describe(meant, version)})."
    return text


def foreign_hint(expr: str, version: str) -> str | None:
    """Why a rejected schedule fails, when a character of another dialect is the cause."""
    if len(_fields(expr)) in (6, 7) and (meant := _shifted(expr, version)):
        mark = (" and '?' (\"no specific value\")" if "?" in expr else "")
        return (f"Six or seven fields with seconds first{mark} are Quartz's or Spring's, "
                f"not pg_cron's (no seconds field, '*' for any day): here '{meant}'.")
    fields = _fields(expr)[:5]
    if any("?" in f for f in fields):
        meant = _shifted(expr, version)
        return ("'?' (Quartz's \"no specific value\") is not pg_cron's: write '*' in that "
                "day field" + (f", here '{meant}'." if meant else "."))
    if fields[2:3] and any(c in fields[2].upper() for c in "LW") and fields[2] != "*":
        dom = fields[2].upper()
        if "W" in dom:
            return ("'W' (Quartz's nearest weekday) is not pg_cron's and has no "
                    "equivalent there: give the days of the month as numbers.")
        last = ("pg_cron's is '$', alone in the day-of-month field" if parse("0 0 $ * *", version)
                else "pg_cron has '$' for it from 1.6 on, and nothing before")
        return f"'L' (Quartz's last day of the month) is not pg_cron's: {last}."
    if fields[4:5] and fields[4][:1].isdigit() and fields[4].upper().endswith("L"):
        return ("'L' in day-of-week (Quartz's last such weekday of the month) is not "
                "pg_cron's: it has no way to say the last Friday of a month.")
    if any(f.upper() == "H" or f.upper().startswith(("H(", "H/")) for f in fields):
        return "'H' (Jenkins' hashed value) is not pg_cron's: write the number."
    return None


def check(expr: str, version: str = "1.6") -> Verdict:
    """grammar.check, with schedules of another cron's dialect worded as pg_cron reads them."""
    verdict = grammar_check(expr, version)
    if not verdict.valid:
        hint = foreign_hint(expr, version)
        return replace(verdict, hint=hint) if hint else verdict
    warning = foreign_fields_warning(expr, version)
    if warning is None:
        return verdict
    # Our wording replaces grammar's plainer "ignores the rest" for the same fields.
    kept = tuple(w for w in verdict.warnings if not w.startswith("pg_cron reads five fields"))
    return replace(verdict, warnings=(warning, *kept))


def dialect_warnings(expr: str, version: str = "1.6") -> list[str]:
    """Only the warnings about another cron's dialect (for the doctor): six or seven fields,
    '#n' ignored."""
    verdict = check(expr, version)
    return [w for w in verdict.warnings
            if "another cron's" in w or (w.startswith("'#") and "is ignored" in w)]
