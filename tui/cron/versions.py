"""pg_cron versions as the schedule language needs them.

A version is a line ('1.6'), a release ('1.6.4') where behaviour differs inside a line, or
``pg_extension.extversion`` ('1.4-1'); '+match_dom_and_dow' is appended when the server's
cron.match_dom_and_dow is on (it changes when schedules fire, not what is accepted).
"""

from __future__ import annotations

from typing import Literal

PgCronVersion = Literal["1.4", "1.5", "1.6"]

VERSIONS: tuple[PgCronVersion, ...] = ("1.4", "1.5", "1.6")
# Appended to a version ('1.6+match_dom_and_dow') when the server's cron.match_dom_and_dow is
# on (master after 1.6.7, commit 36f1b33): a runtime setting, not a release, but it changes
# when schedules fire, so it travels with the version to everything that computes runs.
DOM_AND_DOW = "+match_dom_and_dow"
# A line given without its release ('1.6', or extversion) is judged as its newest release.
_NEWEST_PATCH = 10**6
_ASCII_DIGITS = frozenset("0123456789")


def _numbers(text: str, count: int) -> list[int]:
    """The leading numbers of a dotted version ('1.6.4' -> [1, 6, 4]); stops at the first gap."""
    parts: list[int] = []
    for piece in split_dialect(text)[0].strip().split("-")[0].split(".")[:count]:
        digits = "".join(c for c in piece if c in _ASCII_DIGITS)
        if not digits:
            break
        parts.append(int(digits))
    return parts


def parse_version(extversion: str) -> PgCronVersion:
    """Map ``pg_extension.extversion`` ('1.4-1', '1.5', '1.6') or a release ('1.6.4') to a
    grammar line.

    Anything older than 1.5 is treated as 1.4 and anything newer than 1.6 as 1.6.
    """
    parts = _numbers(extversion, 2)
    if len(parts) < 2:
        parts = [parts[0] if parts else 0, 0]
    major, minor = parts[0], parts[1]
    if (major, minor) >= (1, 6):
        return "1.6"
    if (major, minor) == (1, 5):
        return "1.5"
    return "1.4"


def split_dialect(version: str) -> tuple[str, bool]:
    """('1.6', True) for '1.6+match_dom_and_dow': the release and whether days need both."""
    if version.endswith(DOM_AND_DOW):
        return version[: -len(DOM_AND_DOW)], True
    return version, False


def with_dom_and_dow(version: str, on: bool | None) -> str:
    """``version`` as judged by a server whose cron.match_dom_and_dow is ``on``."""
    base = split_dialect(version)[0]
    return base + DOM_AND_DOW if on else base


def is_version(text: str) -> bool:
    """Whether ``text`` names a line ('1.6') or a release ('1.6.4') of pg_cron."""
    pieces = split_dialect(text)[0].split(".")
    return 2 <= len(pieces) <= 3 and all(p.isascii() and p.isdigit() for p in pieces)


def _release(version: str) -> tuple[int, int, int]:
    """The release a version stands for. A line ('1.6', or extversion, which never names the
    release) stands for its newest release: what Debian and the upstream releases run."""
    parts = _numbers(version, 3)
    line = VERSIONS.index(_normalise_version(version))
    if len(parts) == 3 and parts[:2] == [1, 4 + line]:
        return parts[0], parts[1], parts[2]
    return 1, 4 + line, _NEWEST_PATCH


def _checks_steps(version: str) -> bool:
    """pg_cron 1.6.5 (commit 5c10a8a) rejects a step larger than the field's maximum."""
    return _release(version) >= (1, 6, 5)


def _indexes_from_low(version: str) -> bool:
    """1.6.0-1.6.4 set ranges with set_range() (absent from 1.5.2; 1.6.5 rejects big steps)."""
    return (1, 6, 0) <= _release(version) < (1, 6, 5)


def _at_least(version: str, wanted: PgCronVersion) -> bool:
    return VERSIONS.index(_normalise_version(version)) >= VERSIONS.index(wanted)


def _normalise_version(version: str) -> PgCronVersion:
    return version if version in VERSIONS else parse_version(version)
