"""The argparse types every subcommand's options use: each value is checked here, before
anything connects, and a bad one is refused in one line that names the option (argparse
adds it), shows the value (escaped, masked, cut) and says what is accepted.

Factories (`whole(1, 100)`) return the type function; plain types are used as they are.
A type raises `argparse.ArgumentTypeError`, which argparse reports as
`argument --opt: <message>` and exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

Refused = argparse.ArgumentTypeError

#: How much of a refused value the message shows.
SHOWN = 60
#: Instants outside these years are refused: nothing pg_cron ran or will run lies there,
#: and date arithmetic near year 9999 overflows.
MIN_YEAR, MAX_YEAR = 1970, 2999
DURATION_FORMS = "a duration such as 90m, 12h, 3d, 2w (units s, m, h, d, w; combined: 1d12h)"
INSTANT_FORMS = ("an ISO date or time: 2026-12-01, 2026-12-01T06:00, or with an offset "
                 "2026-12-01T06:00+02:00 (without one, in the scheduler's zone)")


def shown(text: str) -> str:
    """A refused value as a message may show it: masked, on one line with every control
    character escaped, cut to SHOWN characters, quoted."""
    if not text.strip():
        return "an empty value" if not text else "blanks only"
    return f"'{line(text)}'"


def line(text: str, width: int = SHOWN) -> str:
    """Text masked, on one line with every control character escaped, cut to `width`."""
    from tui.masking import mask
    from tui.text import one_line

    out = one_line(mask(text) or "")
    return f"{out[:width - 1]}… ({len(text):,} characters)" if len(out) > width else out


def _plain(text: str, accepted: str) -> str:
    """The value, refused if it is empty or holds what no option takes (NUL, control
    characters)."""
    if not text.strip():
        raise Refused(f"{shown(text)}; accepted: {accepted}")
    if re.search(r"[\x00-\x1f\x7f-\x9f]", text):
        raise Refused(f"{shown(text)} holds control characters; accepted: {accepted}")
    return text.strip()


# -- numbers ---------------------------------------------------------------------------------

_WHOLE = re.compile(r"[+-]?[0-9]{1,30}")  # ASCII digits only: int() would take '٣', '1_000'


def whole(lo: int, hi: int, what: str = "") -> Callable[[str], int]:
    """A whole number from lo to hi (ASCII digits)."""
    def parse(text: str) -> int:
        raw = _plain(text, f"{lo} to {hi}{what}")
        if not _WHOLE.fullmatch(raw):
            raise Refused(f"{shown(text)} is not a whole number; accepted: {lo} to {hi}{what}")
        value = int(raw)
        if not lo <= value <= hi:
            raise Refused(f"{shown(text)} is out of range; accepted: {lo} to {hi}{what}")
        return value

    parse.__name__ = "whole number"
    return parse


def seconds(lo: float, hi: float, *, above: bool = False) -> Callable[[str], float]:
    """A number of seconds from lo (exclusive with `above`) to hi: no NaN, no infinity."""
    low = f"above {lo:g}" if above else f"{lo:g}"

    def parse(text: str) -> float:
        raw = _plain(text, f"{low} to {hi:g} seconds")
        if len(raw) > 40 or not re.fullmatch(
                r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", raw):
            raise Refused(f"{shown(text)} is not a number of seconds; accepted: {low} to {hi:g}")
        value = float(raw)
        if not math.isfinite(value) or value < lo or value > hi or (above and value == lo):
            raise Refused(f"{shown(text)} is out of range; accepted: {low} to {hi:g} seconds")
        return value

    parse.__name__ = "seconds"
    return parse


def port(text: str) -> int:
    """A TCP port, 1-65535."""
    return whole(1, 65535, " (a TCP port)")(text)


def ports(text: str) -> str:
    """psql's -p: a port, or libpq's comma-separated ports for several hosts."""
    for part in _plain(text, "a TCP port, 1-65535").split(","):
        if part.strip():
            port(part)
    return text.strip()


# -- time ------------------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:[0-9]{1,9}[smhdw]){1,5}")


def duration(max_days: int = 3650) -> Callable[[str], timedelta]:
    """90m, 12h, 3d, 2w, 1d12h: a positive span up to `max_days`."""
    def parse(text: str) -> timedelta:
        raw = _plain(text, DURATION_FORMS).lower().replace(" ", "")
        if not _DURATION.fullmatch(raw):
            raise Refused(f"{shown(text)} is not {DURATION_FORMS}")
        total = sum(int(n) * _UNITS[u] for n, u in re.findall(r"([0-9]+)([smhdw])", raw))
        if not 0 < total <= max_days * 86400:
            raise Refused(f"{shown(text)} is out of range; accepted: more than 0, at most "
                          f"{max_days} days")
        return timedelta(seconds=total)

    parse.__name__ = "duration"
    return parse


@dataclass(frozen=True)
class Instant:
    """An instant as typed: `value` aware when an offset was given, else a wall-clock time
    to be read in a zone the caller knows (the scheduler's), `date_only` for a bare date."""

    value: datetime
    date_only: bool = False

    @property
    def has_offset(self) -> bool:
        return self.value.tzinfo is not None

    def in_zone(self, zone: tzinfo) -> datetime:
        if self.has_offset:
            return self.value
        # The zone's own reading of that wall-clock time (fold 0 in a repeated hour).
        return self.value.replace(tzinfo=zone)


def instant(text: str) -> Instant:
    """An ISO 8601 date or date and time, with or without an offset (Z for UTC)."""
    raw = _plain(text, INSTANT_FORMS)
    iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", iso):
            day = date.fromisoformat(iso)
            found = Instant(datetime(day.year, day.month, day.day), date_only=True)
        else:
            found = Instant(datetime.fromisoformat(iso))
    except (ValueError, OverflowError):
        raise Refused(f"{shown(text)} is not {INSTANT_FORMS}") from None
    if not MIN_YEAR <= found.value.year <= MAX_YEAR:
        raise Refused(f"{shown(text)} is out of range; accepted: years {MIN_YEAR} to "
                      f"{MAX_YEAR}")
    return found


@dataclass(frozen=True)
class Since:
    """`--since`: a span back from the server's clock, or an instant."""

    ago: timedelta | None = None
    at: Instant | None = None

    def resolve(self, now: datetime, zone: tzinfo) -> datetime:
        """The instant meant: `now` is the server's clock, `zone` the scheduler's."""
        if self.ago is not None:
            return now - self.ago
        assert self.at is not None
        return self.at.in_zone(zone)

    def note(self, zone_name: str) -> str | None:
        """What the output says when the zone was ours to choose."""
        if self.at is None or self.at.has_offset:
            return None
        what = "a date" if self.at.date_only else "a time without an offset"
        return f"--since: {what}, read in the scheduler's zone ({zone_name})"


def since(text: str) -> Since:
    """`3d`, `12h` (back from the server's clock), or an instant (see `instant`), not in
    the future by this machine's clock."""
    raw = _plain(text, f"{DURATION_FORMS}, or {INSTANT_FORMS}")
    if _DURATION.fullmatch(raw.lower().replace(" ", "")):
        return Since(ago=duration()(raw))
    if not re.match(r"[0-9]{4}-", raw):
        raise Refused(f"{shown(text)} is neither {DURATION_FORMS} nor {INSTANT_FORMS}")
    at = instant(raw)
    # A day of leeway: the scheduler's zone and clock are not known before connecting.
    latest = datetime.now().astimezone() + timedelta(days=1)
    if (at.value if at.has_offset else at.value.astimezone()) > latest:
        raise Refused(f"{shown(text)} is in the future; accepted: a time in the past")
    return Since(at=at)


# -- places ----------------------------------------------------------------------------------

_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def host(text: str) -> str:
    """A host name, an IPv4 address or an IPv6 address (brackets optional)."""
    raw = _plain(text, "a host name or an IP address")
    bare = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", bare) or ":" in bare:
        raise Refused(f"{shown(text)} is not an IP address")
    name = bare.rstrip(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(p) for p in name.split(".")):
        raise Refused(f"{shown(text)} is not a host name")
    return name


def host_port(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, or :PORT (127.0.0.1)."""
    raw = _plain(text, "HOST:PORT")
    found = re.fullmatch(r"(\[[^\]]*\]|[^:\[\]]*):([^:]*)", raw)
    if not found:
        raise Refused(f"{shown(text)} is not HOST:PORT (an IPv6 address in brackets: "
                      "[::1]:9187)")
    name, number = found.groups()
    return (host(name) if name else "127.0.0.1"), port(number)


def http_url(text: str) -> str:
    """An http:// or https:// URL with a host (and a valid port, if any)."""
    accepted = "an http:// or https:// URL with a host"
    raw = _plain(text, accepted)
    if re.search(r"\s", raw):
        raise Refused(f"{shown(text)} holds blanks; accepted: {accepted}")
    try:
        parts = urlsplit(raw)
        given_port = parts.port
    except ValueError:
        raise Refused(f"{shown(text)} is not {accepted}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Refused(f"{shown(text)} is not {accepted}")
    host(parts.hostname)
    if given_port == 0:
        raise Refused(f"{shown(text)} has port 0; accepted: {accepted}, port 1-65535")
    return raw


def readable_file(text: str) -> Path:
    """An existing regular file this process can read, as UTF-8 text (a config, a jobs
    file): not a directory, not a device."""
    path = Path(_plain(text, "a file's path")).expanduser()
    try:
        return _readable(text, path)
    except OSError as exc:  # a name too long, a loop of links...
        raise Refused(f"{shown(text)} cannot be used: {exc.strerror or exc}") from None


def _readable(text: str, path: Path) -> Path:
    if not path.exists():
        raise Refused(f"{shown(text)}: no such file")
    if path.is_dir():
        raise Refused(f"{shown(text)} is a folder; accepted: a file")
    if not path.is_file():
        raise Refused(f"{shown(text)} is not a regular file")
    try:
        with path.open("rb") as f:
            f.read(16 << 20).decode("utf-8")
    except OSError as exc:
        raise Refused(f"{shown(text)} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise Refused(f"{shown(text)} is not UTF-8 text") from None
    return path


def toml_file(text: str) -> Path:
    """A readable file (see `readable_file`) that holds TOML; what its tables mean is for
    its reader to judge."""
    from tui.config import tomllib  # tomli on Python 3.10

    path = readable_file(text)
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise Refused(f"{shown(text)} is not TOML: {line(str(exc), 200)}") from None
    return path


def writable_file(text: str) -> Path:
    """A file this process may write: an existing regular file (or /dev/null), or a new
    one in an existing folder it may write in."""
    path = Path(_plain(text, "a file's path")).expanduser()
    try:
        return _writable(text, path)
    except OSError as exc:
        raise Refused(f"{shown(text)} cannot be used: {exc.strerror or exc}") from None


def _writable(text: str, path: Path) -> Path:
    if path.is_dir():
        raise Refused(f"{shown(text)} is a folder; accepted: a file")
    if path.exists():
        if not (path.is_file() or str(path) == os.devnull):
            raise Refused(f"{shown(text)} is not a regular file")
        with path.open("a"):  # appending nothing changes nothing, and proves we may
            pass
        return path
    folder = path.parent
    if not folder.is_dir():
        raise Refused(f"{shown(text)}: its folder does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise Refused(f"{shown(text)}: its folder may not be written by this user")
    return path


def conninfo(text: str) -> str:
    """psql's -d: a database name, a conninfo string (`host=... dbname=...`) or a URI;
    a conninfo string libpq cannot read (an unknown key, a stray quote) is refused here."""
    raw = _plain(text, "a database name, a conninfo string or a URI")
    if "=" in raw or raw.startswith(("postgresql://", "postgres://")):
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        try:
            conninfo_to_dict(raw)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise Refused(f"{shown(text)} is not a conninfo string libpq reads: "
                          f"{line(reason, 200)}") from None
    return raw


def job_ref(text: str) -> str:
    """JOB: a job's exact name or #id (the server decides which job it is)."""
    if not text:
        raise Refused("an empty value; accepted: a job's name or #id")
    if "\x00" in text:
        raise Refused(f"{shown(text)} holds a NUL, which no job name can")
    if text.startswith("#") and not re.fullmatch(r"#[0-9]{1,19}", text):
        raise Refused(f"{shown(text)} is not a #id (# and digits); a job's name or #id")
    return text


def choice(values: Sequence[str], what: str = "") -> Callable[[str], str]:
    """One of `values` (any case, as typed around it), the choices listed when refused."""
    def parse(text: str) -> str:
        raw = text.strip().lower()
        for value in values:
            if raw == value.lower():
                return value
        raise Refused(f"{shown(text)} is not one of {', '.join(values)}{what}")

    parse.__name__ = "choice"
    return parse


class Parser(argparse.ArgumentParser):
    """argparse's parser, reporting a bad command line in one line (masked, escaped, cut)
    instead of the usage and the error: the subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        from tui.masking import mask
        from tui.text import one_line

        text = one_line(mask(message) or "")
        # argparse's own messages quote the whole value (`invalid choice: '<100 KB>'`).
        text = re.sub(r"\S{200,}", lambda m: f"{m.group(0)[:SHOWN]}… ({len(m.group(0)):,} "
                                               "characters)", text)
        self.exit(2, f"{self.prog}: error: {text[:2000]} (see {self.prog} --help)\n")
