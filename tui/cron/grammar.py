"""pg_cron's schedule grammar, judged the way pg_cron judges it.

pg_cron validates a schedule in two steps (job_metadata.c, ParseSchedule):

1. ``parse_cron_entry`` (entry.c), a trimmed copy of Vixie cron's crontab line parser;
2. only if that fails and on 1.5+, ``TryParseInterval``: ``sscanf(" %u secon%c%c %c")`` on the
   lower-cased text, i.e. ``N second`` / ``N seconds`` with 0 < N < 60.

This module re-implements both by reading the C code's behaviour character by character rather
than with a regular expression, because the C parser has quirks a tidy grammar would miss:
characters after a complete item are skipped up to the next blank (``MON#1``, ``5.5``, ``*x``),
text after the fifth field is ignored, numbers go through ``atoi`` (so ``4294967301`` is 5), and
ranges are not required to ascend. Every quirk reproduced here was checked against pg_cron 1.4.2
and 1.6.5 servers. croniter is never consulted: it disagrees with pg_cron in both directions.
The interval reader is in interval.py, what is kept of a schedule in model.py, versions in
versions.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from .interval import _parse_seconds, _parse_seconds_ignoring_range
from .model import (
    DOM,
    DOW,
    DOW_NAMES,
    HOUR,
    MINUTE,
    MONTH,
    FieldSpec,
    Schedule,
    Verdict,
    _day_rule_warnings,
    can_fire,
)
from .versions import (
    _at_least,
    _checks_steps,
    _indexes_from_low,
    split_dialect,
)

# pg_cron's buffer is MAX_FILE_BUFFER_LENGTH (1000) bytes including the NUL terminator; the check
# applies to the cron parser only, so "5 seconds" padded to 1000 bytes is still accepted by 1.6.
MAX_CRON_BYTES = 999

DOW_LONG = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

MACROS = {
    # name: (minute, hour, dom, month, dow) in cron syntax, as entry.c fills the bit sets.
    "yearly": "0 0 1 1 *",
    "annually": "0 0 1 1 *",
    "monthly": "0 0 1 * *",
    "weekly": "0 0 * * 0",
    "daily": "0 0 * * *",
    "midnight": "0 0 * * *",
    "hourly": "0 * * * *",
}
REBOOT_MACROS = ("reboot", "restart")

_END = ""  # what our reader returns past the end of the text (pg_cron's get_char gives '\0')
_BLANKS = (" ", "\t")
_ASCII_DIGITS = frozenset("0123456789")
_ASCII_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_INT32_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1

DEFAULT_HINT = (
    "Use five cron fields (minute hour day-of-month month day-of-week, e.g. '5 4 * * *'), "
    "a macro such as @daily, or '[1-59] seconds' (pg_cron 1.5+)."
)



class _Invalid(Exception):
    """The C parser would return EOF here; the message becomes the verdict's hint."""

    def __init__(self, hint: str | None = None) -> None:
        super().__init__(hint)
        self.hint = hint



# --------------------------------------------------------------------------- the cron parser


class _Reader:
    """pg_cron's in-memory FILE: get_char() returns '\\0' (here: _END) past the end."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def get(self) -> str:
        if self.pos >= len(self.text):
            self.pos = len(self.text) + 1  # so that unget() after the end stays past the end
            return _END
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def unget(self) -> None:
        self.pos -= 1

    def rest(self) -> str:
        """The unread text, starting with the character last returned by get()."""
        return self.text[max(self.pos - 1, 0) :] if self.pos <= len(self.text) else ""


@dataclass
class _Field:
    values: set[int] = field(default_factory=set)
    star: bool = False
    items: list[str] = field(default_factory=list)
    skipped: str = ""
    empty_ranges: list[str] = field(default_factory=list)
    big_steps: list[tuple[str, int]] = field(default_factory=list)


def _atoi(digits: str) -> int:
    """glibc atoi: strtol (saturating at LONG_MAX) truncated to a 32-bit int."""
    value = min(int(digits), _LONG_MAX) & 0xFFFFFFFF
    return value - 2**32 if value > _INT32_MAX else value


def _get_number(r: _Reader, ch: str, spec: FieldSpec | None) -> tuple[str, int, str]:
    """Read a number or a name; returns (next char, value, canonical text)."""
    token = ""
    while ch in _ASCII_ALNUM and ch != _END:
        token += ch
        ch = r.get()
    if not token:
        raise _Invalid()
    if spec is not None and spec.names is not None:
        upper = token.upper()
        if upper in spec.names:
            return ch, spec.names.index(upper) + spec.low, upper
    if all(c in _ASCII_DIGITS for c in token):
        value = _atoi(token)
        return ch, value, str(value)
    if spec is None:
        raise _Invalid("A step must be a number, as in '*/15'.")
    if spec.names is None:
        raise _Invalid(
            f"'{token}' is not a number; names are allowed only in the month (JAN-DEC) "
            "and day-of-week (SUN-SAT) fields."
        )
    kind = "month" if spec is MONTH else "day"
    raise _Invalid(
        f"'{token}' is not a {kind} name; use three letters such as "
        f"{'JAN' if spec is MONTH else 'MON'}."
    )


def _check_bounds(spec: FieldSpec, value: int) -> None:
    if not spec.low <= value <= spec.high:
        raise _Invalid(
            f"The {spec.name} field takes {spec.low}-{spec.high}; {value} is out of range."
        )


def _get_range(r: _Reader, ch: str, spec: FieldSpec, out: _Field, version: str) -> str:
    if ch == "*":
        first, last, text = spec.low, spec.high, "*"
        ch = r.get()
    else:
        ch, first, text = _get_number(r, ch, spec)
        if ch != "-":
            if ch == "/":
                raise _Invalid(
                    f"A step needs '*' or a range before it: use '*/N' or "
                    f"'{text}-{spec.high}/N', not '{text}/N'."
                )
            _check_bounds(spec, first)
            out.values.add(first)
            out.items.append(text)
            return ch
        ch = r.get()
        ch, last, last_text = _get_number(r, ch, spec)
        text = f"{text}-{last_text}"
    step = 1
    if ch == "/":
        ch = r.get()
        ch, step, step_text = _get_number(r, ch, None)
        if step <= 0:
            raise _Invalid("A step must be 1 or more.")
        # pg_cron 1.6.5+ rejects steps larger than the field's maximum (checked on 1.6.5);
        # older releases accept them and the step then selects only the first value.
        if step > spec.high and _checks_steps(version):
            raise _Invalid(
                f"pg_cron 1.6.5 and later reject a step larger than {spec.high} in the "
                f"{spec.name} field (1.6.4 and older accept it and fire only at {first})."
            )
        text = f"{text}/{step_text}"
    _check_bounds(spec, first)
    _check_bounds(spec, last)
    if first > last:
        out.empty_ranges.append(text)
    elif step > spec.high:
        out.big_steps.append((text, first))
    value = first
    while value <= last:
        out.values.add(value)
        if _indexes_from_low(version):
            # 1.6.0-1.6.4's set_range() counts from first - low in a 32-bit int (v1.6.4
            # src/entry.c:519): an overflow there writes out of bounds, and the server dies of
            # SIGSEGV (measured on 1.6.4). Never to be sent to such a server.
            if value - spec.low + step > _INT32_MAX:
                raise _Invalid("The step is too large: it crashes pg_cron 1.6.0-1.6.4.")
        # The C loop adds in a 32-bit int: overflowing wraps negative and set_element fails.
        elif value + step > _INT32_MAX:
            raise _Invalid("The step is too large.")
        value += step
    # A step wider than its range selects only the first value; describe() reads these items,
    # and '*/60' must not read as "every 60 minutes".
    out.items.append(str(first) if 1 < step and last - first < step else text)
    return ch


def _get_list(r: _Reader, ch: str, spec: FieldSpec, version: str) -> tuple[str, _Field]:
    out = _Field(star=ch == "*")
    while True:
        ch = _get_range(r, ch, spec, out, version)
        if ch != ",":
            break
        ch = r.get()
    # Vixie cron skips anything up to the next blank: this is why 'MON#1' and '5.5' pass.
    while ch not in _BLANKS and ch not in ("\n", _END):
        out.skipped += ch
        ch = r.get()
    while ch in _BLANKS:
        ch = r.get()
    return ch, out


def _skip_comments(r: _Reader) -> None:
    """Leading blank lines and '#' comment lines are skipped, as in a crontab."""
    while True:
        ch = r.get()
        if ch == _END:
            return
        while ch in _BLANKS:
            ch = r.get()
        if ch not in ("\n", "#"):
            if ch != _END:
                r.unget()
            return
        while ch not in ("\n", _END):
            ch = r.get()
        if ch == _END:
            return


def yearly_never_fires(macro: str | None, version: str) -> bool:
    """pg_cron 1.6.0 and later (to 1.6.7 at least) set no month for @yearly/@annually
    (entry.c: ``set_element(e->month, FIRST_MONTH, LAST_MONTH, FIRST_MINUTE)`` puts 0 below
    the lowest month), so the job is accepted and never fires; 1.4 and 1.5 set January."""
    return macro in ("yearly", "annually") and _at_least(version, "1.6")


def yearly_warning(macro: str) -> str:
    return (f"@{macro} never fires on pg_cron 1.6 (a pg_cron bug: it sets no month); "
            "use '0 0 1 1 *' for every 1 January at 00:00.")


def _parse_macro(r: _Reader, version: str) -> Schedule:
    word = ""
    ch = r.get()
    while ch not in (" ", "\t", "\n", _END):
        word += ch
        ch = r.get()
    warnings: list[str] = []
    rest = r.rest().strip() if ch != _END else ""
    if rest:
        warnings.append(f"Text after @{word} is ignored: '{rest}'.")
    if word in REBOOT_MACROS:
        return Schedule(kind="reboot", macro=word, warnings=tuple(warnings))
    if word not in MACROS:
        if word.lower() in MACROS or word.lower() in REBOOT_MACROS:
            raise _Invalid(f"Macros are lowercase: use @{word.lower()}.")
        raise _Invalid(
            "Known macros: @yearly @annually @monthly @weekly @daily @midnight @hourly "
            "@reboot @restart (lowercase)."
        )
    inner = _parse_fields(_Reader(MACROS[word]), "1.6")
    months = inner.months
    if yearly_never_fires(word, version):
        months = frozenset()
        warnings.append(yearly_warning(word))
    return Schedule(
        kind="cron",
        minutes=inner.minutes,
        hours=inner.hours,
        doms=inner.doms,
        months=months,
        dows=inner.dows,
        dom_star=inner.dom_star,
        dow_star=inner.dow_star,
        macro=word,
        fields=inner.fields,
        warnings=tuple(warnings),
    )


def _field_or_missing(r: _Reader, ch: str, spec: FieldSpec, version: str) -> tuple[str, _Field]:
    if ch in ("\n", _END):
        raise _Invalid(
            f"The {spec.name} field is missing: pg_cron needs five fields "
            "(minute hour day-of-month month day-of-week)."
        )
    return _get_list(r, ch, spec, version)


def _parse_dom(r: _Reader, ch: str, version: str) -> tuple[str, _Field, bool]:
    if ch == "$" and _at_least(version, "1.6"):
        ch = r.get()
        if ch not in _BLANKS:
            raise _Invalid(
                "'$' (last day of the month) must stand alone in the day-of-month field."
            )
        while ch in _BLANKS:
            ch = r.get()
        return ch, _Field(items=["$"]), True
    if ch == "$":
        raise _Invalid("'$' (last day of the month) needs pg_cron 1.6 or newer.")
    ch, dom = _field_or_missing(r, ch, DOM, version)
    return ch, dom, False


def _parse_fields(r: _Reader, version: str) -> Schedule:
    ch = r.get()
    ch, minute = _field_or_missing(r, ch, MINUTE, version)
    ch, hour = _field_or_missing(r, ch, HOUR, version)
    ch, dom, dom_last = _parse_dom(r, ch, version)
    ch, month = _field_or_missing(r, ch, MONTH, version)
    ch, dow = _field_or_missing(r, ch, DOW, version)
    extra = r.rest().strip() if ch != _END else ""
    dows = {d % 7 for d in dow.values}  # 7 is Sunday too
    fields = (minute, hour, dom, month, dow)
    return Schedule(
        kind="cron",
        minutes=frozenset(minute.values),
        hours=frozenset(hour.values),
        doms=frozenset(dom.values),
        months=frozenset(month.values),
        dows=frozenset(dows),
        dom_star=dom.star,
        dow_star=dow.star,
        dom_last=dom_last,
        fields=tuple(",".join(f.items) for f in fields),
        warnings=tuple(_field_warnings(fields, extra, version)),
    )


def _field_warnings(fields: tuple[_Field, ...], extra: str, version: str) -> list[str]:
    warnings: list[str] = []
    specs = (MINUTE, HOUR, DOM, MONTH, DOW)
    for spec, f in zip(specs, fields):
        if f.skipped:
            last = f.items[-1] if f.items else ""
            if spec is DOW and f.skipped.startswith("#"):
                warnings.append(
                    f"'{f.skipped}' is ignored: '{last}{f.skipped}' fires on every "
                    f"{_dow_word(last)}, not only on one of them in the month."
                )
            else:
                warnings.append(
                    f"'{f.skipped}' after '{last}' in the {spec.name} field is ignored."
                )
        for text in f.empty_ranges:
            warnings.append(
                f"The range {text} in the {spec.name} field does not wrap around, "
                "so it selects nothing."
            )
        for text, first in f.big_steps:
            # Only reachable before 1.6.5, which rejects these outright.
            warnings.append(
                f"'{text}' in the {spec.name} field selects only {first}, not every "
                f"{text.rsplit('/', 1)[1]}; pg_cron 1.6.5 and later reject it."
            )
    if extra:
        warnings.append(f"pg_cron reads five fields and ignores the rest: '{extra}' has no effect.")
    return warnings


def _dow_word(item: str) -> str:
    if item.upper() in DOW_NAMES:
        return DOW_LONG[DOW_NAMES.index(item.upper())]
    if item.isdigit() and 0 <= int(item) <= 7:
        return DOW_LONG[int(item) % 7]
    return f"day {item}"


def _parse_cron(expr: str, version: str) -> Schedule:
    if len(expr.encode("utf-8")) > MAX_CRON_BYTES:
        raise _Invalid("pg_cron rejects cron schedules of 1000 bytes or more.")
    r = _Reader(expr)
    _skip_comments(r)
    ch = r.get()
    if ch == "@":
        return _parse_macro(r, version)
    if ch != _END:
        r.unget()
    return _parse_fields(r, version)



# -------------------------------------------------------------------------------- the verdict


@functools.lru_cache(maxsize=4096)
def parse(expr: str, version: str = "1.6") -> Schedule | None:
    """The schedule as pg_cron of ``version`` would store it, or None if it is rejected."""
    base, and_days = split_dialect(version)
    if and_days:
        # The setting changes matching only (master pg_cron.c:1020), never what is accepted.
        plain = parse(expr, base)
        if plain is not None and plain.kind == "cron":
            return replace(plain, and_days=True)
        return plain
    try:
        return _parse_cron(expr, version)
    except _Invalid:
        pass
    if _at_least(version, "1.5"):
        seconds = _parse_seconds(expr)
        if seconds is not None:
            return Schedule(kind="seconds", seconds=seconds)
    return None


def _failure_hint(expr: str, version: str) -> str:
    try:
        _parse_cron(expr, version)
    except _Invalid as exc:
        cron_hint = exc.hint
    else:  # pragma: no cover - parse() only asks when the cron parser failed
        cron_hint = None
    if "second" in expr.lower():
        if not _at_least(version, "1.5"):
            return "'N seconds' schedules need pg_cron 1.5 or newer."
        if _parse_seconds_ignoring_range(expr):
            return "An interval takes 1 to 59 seconds; for longer use cron, e.g. '*/2 * * * *'."
        return "Write an interval as '[1-59] seconds', e.g. '30 seconds'."
    if expr.strip() == "$" or (" $" in expr and not _at_least(version, "1.6")):
        return "'$' (last day of the month) needs pg_cron 1.6 or newer."
    return cron_hint or DEFAULT_HINT



def check(expr: str, version: str = "1.6") -> Verdict:
    """Would pg_cron ``version`` accept ``expr``? With a hint when not, warnings when so."""
    schedule = parse(expr, version)
    if schedule is None:
        return Verdict(
            valid=False,
            error=f"invalid schedule: {expr}",
            hint=_failure_hint(expr, version),
        )
    warnings = list(schedule.warnings)
    if schedule.kind == "cron":
        warnings.extend(_day_rule_warnings(schedule))
        if not can_fire(schedule) and not yearly_never_fires(schedule.macro, version):
            warnings.append("This schedule never fires.")
    return Verdict(
        valid=True,
        warnings=tuple(warnings),
        kind=schedule.kind,
        seconds=schedule.seconds,
    )


