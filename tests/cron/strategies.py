"""Hypothesis strategies for pg_cron schedules, valid and nearly valid.

``expressions`` mixes everything below; the differential test feeds it to a real server and to
``tui.cron.check`` and expects the same verdict. The near misses are the ones pg_cron's C parser
is quirky about: names in the wrong field, steps without a range, out-of-range numbers, steps
over the field's maximum (1.4 accepts, 1.6 rejects), stray characters after an item, '#n',
macros in the wrong case, intervals around 0..61 seconds, '$', and too many or too few fields.
"""

from __future__ import annotations

from hypothesis import strategies as st

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MACROS = (
    "yearly",
    "annually",
    "monthly",
    "weekly",
    "daily",
    "midnight",
    "hourly",
    "reboot",
    "restart",
)
# (low, high, names) per field, as pg_cron defines them.
FIELDS = ((0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (0, 7, DAYS))
STRAY = ("#", "#1", "#5", ".", ".5", "x", "-", "/", ",", "?", "L", "W", "$", "*", "%")


@st.composite
def _case_variant(draw: st.DrawFn, word: str) -> str:
    style = draw(st.sampled_from(("upper", "lower", "title", "mixed")))
    if style == "upper":
        return word.upper()
    if style == "lower":
        return word.lower()
    if style == "title":
        return word.title()
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if f else c.lower() for c, f in zip(word, flips))


def _number(low: int, high: int) -> st.SearchStrategy[str]:
    inside = st.integers(min_value=low, max_value=high).map(str)
    near = st.integers(min_value=max(low - 2, 0), max_value=high + 2).map(str)
    padded = st.integers(min_value=low, max_value=high).map(lambda n: f"0{n}")
    huge = st.sampled_from(("4294967296", "4294967301", "99999999999", "2147483648"))
    return st.one_of(*[inside] * 12, near, padded, huge)


def _value(low: int, high: int, names: tuple[str, ...] | None) -> st.SearchStrategy[str]:
    if names is None:
        return _number(low, high)
    named = st.sampled_from(names).flatmap(_case_variant)
    long_name = st.sampled_from(("JANUARY", "Sunday", "Monday", "MO", "SU"))
    return st.one_of(_number(low, high), _number(low, high), named, named, long_name)


def _step(high: int) -> st.SearchStrategy[str]:
    fine = st.integers(min_value=1, max_value=high).map(str)
    odd = st.sampled_from((str(high), str(high + 1), "0", "60", "100", "2147483647"))
    return st.one_of(fine, fine, fine, odd)


def _item(low: int, high: int, names: tuple[str, ...] | None) -> st.SearchStrategy[str]:
    value = _value(low, high, names)
    step = _step(high)
    return st.one_of(
        st.just("*"),
        st.just("*"),
        value,
        value,
        value,
        st.tuples(value, value).map(lambda t: f"{t[0]}-{t[1]}"),
        step.map(lambda s: f"*/{s}"),
        st.tuples(value, value, step).map(lambda t: f"{t[0]}-{t[1]}/{t[2]}"),
        st.tuples(value, step).map(lambda t: f"{t[0]}/{t[1]}"),  # rejected: no range
    )


def _clean_item(low: int, high: int, names: tuple[str, ...] | None) -> st.SearchStrategy[str]:
    """Items every pg_cron version accepts (ranges may still run backwards)."""
    number = st.integers(min_value=low, max_value=high).map(str)
    value = (
        number
        if names is None
        else st.one_of(number, st.sampled_from(names).flatmap(_case_variant))
    )
    step = st.integers(min_value=1, max_value=high).map(str)
    return st.one_of(
        st.just("*"),
        value,
        st.tuples(value, value).map(lambda t: f"{t[0]}-{t[1]}"),
        step.map(lambda s: f"*/{s}"),
        st.tuples(value, value, step).map(lambda t: f"{t[0]}-{t[1]}/{t[2]}"),
    )


@st.composite
def _field(draw: st.DrawFn, index: int, clean: bool = False) -> str:
    low, high, names = FIELDS[index]
    size = draw(st.sampled_from((1, 1, 1, 2, 3)))
    item = _clean_item(low, high, names) if clean else _item(low, high, names)
    items = [draw(item) for _ in range(size)]
    text = ",".join(items)
    if clean:
        return text
    if draw(st.integers(min_value=0, max_value=19)) == 0:
        text += draw(st.sampled_from(STRAY))
    if draw(st.integers(min_value=0, max_value=49)) == 0:
        text = draw(st.sampled_from(("", ",", text + ",", "," + text, "$", "-")))
    return text


_BLANK = st.sampled_from((" ", " ", " ", "  ", "\t"))


@st.composite
def cron_expressions(draw: st.DrawFn) -> str:
    clean = draw(st.booleans())
    fields = [draw(_field(i, clean)) for i in range(5)]
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        fields[2] = "$"  # 1.6+: last day of the month
    count = draw(st.sampled_from((5,) * 12 + (4, 6, 7, 3)))
    if count < 5:
        fields = fields[:count]
    else:
        fields += [
            draw(st.sampled_from(("30", "2026", "*", "# note", "x"))) for _ in range(count - 5)
        ]
    text = fields[0]
    for f in fields[1:]:
        text += draw(_BLANK) + f
    lead = draw(st.sampled_from(("", "", "", " ", "\t", "\n")))
    trail = draw(st.sampled_from(("", "", "", " ", "\t", "\n")))
    return lead + text + trail


@st.composite
def macro_expressions(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(MACROS))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        word = draw(_case_variant(word))
    text = "@" + word
    return text + draw(st.sampled_from(("", "", " ", "\t", "x", " extra", " 0 0 * * *")))


@st.composite
def seconds_expressions(draw: st.DrawFn) -> str:
    n = draw(st.one_of(st.integers(min_value=0, max_value=61), st.just(-5)))
    number = draw(st.sampled_from((str(n), f"0{n}", f"+{n}")))
    unit = draw(st.sampled_from(("seconds", "second", "secs", "sec", "s", "secondss")))
    unit = draw(_case_variant(unit))
    gap = draw(st.sampled_from((" ", " ", "", "  ", "\t")))
    lead = draw(st.sampled_from(("", "", " ", "\t")))
    trail = draw(st.sampled_from(("", "", " ", "\t", " x", "\n")))
    return lead + number + gap + unit + trail


stray_expressions = st.one_of(
    st.sampled_from(
        (
            "",
            " ",
            "$",
            "#comment",
            "* * * * * *",
            "0 0 L * *",
            "0 0 ? * *",
            "5 4 * * *",
            "@",
            "@ daily",
            "0 0 31 2 *",
            "0 0 * * SAT-SUN",
        )
    ),
    st.text(alphabet="0123456789*/-, $#@abcJANMONsecond\t", max_size=20),
)

expressions: st.SearchStrategy[str] = st.one_of(
    cron_expressions(),
    cron_expressions(),
    cron_expressions(),
    macro_expressions(),
    seconds_expressions(),
    stray_expressions,
)


@st.composite
def _plain_field(draw: st.DrawFn, index: int) -> str:
    """One field as operators write them: '*', numbers, ascending ranges, steps, names."""
    low, high, names = FIELDS[index]
    high = min(high, 6) if index == 4 else high  # 7 is Sunday again: ranges end at 6 here

    def value(n: int) -> str:
        if names is not None and draw(st.booleans()):
            return names[n - low]
        return str(n)

    shape = draw(st.sampled_from(("*", "n", "list", "range", "star-step", "range-step")))
    if shape == "*":
        return "*"
    n = draw(st.integers(min_value=low, max_value=high))
    m = draw(st.integers(min_value=n, max_value=high))
    step = draw(st.integers(min_value=1, max_value=high))
    if shape == "n":
        return value(n)
    if shape == "list":
        picked = draw(st.lists(st.integers(min_value=low, max_value=high), min_size=2,
                               max_size=4, unique=True))
        return ",".join(value(v) for v in sorted(picked))
    if shape == "range":
        return f"{value(n)}-{value(m)}" if m > n else value(n)
    if shape == "star-step":
        return f"*/{step}"
    return f"{n}-{m}/{step}" if m > n else str(n)


@st.composite
def operator_expressions(draw: st.DrawFn) -> str:
    """Five plain fields in which a day field starting with '*' is a plain '*': the shapes on
    which pg_cron and ordinary cron are meant to agree (no '#', '$', wrapping ranges, or
    Vixie's first-character rule for the days)."""
    fields = [draw(_plain_field(i)) for i in range(5)]
    for day, other in ((2, 4), (4, 2)):
        if fields[day].startswith("*") and fields[day] != "*" and fields[other] != "*":
            fields[day] = "*"
    return " ".join(fields)
