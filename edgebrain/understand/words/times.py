"""Read times from an utterance in code, so the model never does clock arithmetic.

Each time expression ("at 7:30 pm", "in 45 minutes", "晚上8点", "10分钟后") is resolved against the
current time to an absolute HH:MM and replaced in the text by a marker ``@HH:MM``; the model then only
decides which command a marker belongs to. A duration also keeps its exact instant (the clock shows
02:30 twice on the night it goes back: "in 1 hour" at the first is the second, an hour later).
Expects digits (see numbers.normalize_numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from edgebrain.base.localtime import hhmm
from edgebrain.understand.words.numbers import normalize_numbers

_PM_WORDS = ("下午", "傍晚", "晚上", "今晚", "明晚", "今天晚上", "明天晚上", "今天下午", "明天下午",
             "evening", "tonight", "afternoon", "night", "pm", "p.m.")
_AM_WORDS = ("凌晨", "早上", "早晨", "上午", "明早", "明天早上", "明天上午", "今天早上", "今早",
             "morning", "am", "a.m.")
_NOON_WORDS = ("中午",)
_LATE_WORDS = ("夜里", "半夜")

_REL_SUFFIX = r"(?:以后|之后|后)"
_EN_MIN = r"(?:minutes?|mins?)\b"
_EN_HOUR = r"(?:hours?|hrs?)\b"

_RELATIVE = [
    # English: in 10 minutes / in 2 hours (and) 30 minutes / in an hour / in half an hour / 10 minutes from now
    (re.compile(rf"\b(?:in|after)\s+(?P<h>\d+)\s*{_EN_HOUR}(?:\s*(?:and\s+)?(?P<m>\d+)\s*{_EN_MIN})?",
                re.I), None),
    (re.compile(rf"\b(?:in|after)\s+(?P<h>\d+)\s+and\s+a\s+half\s+{_EN_HOUR}", re.I), 30),
    (re.compile(rf"\b(?:in|after)\s+(?P<m>\d+)\s*{_EN_MIN}", re.I), None),
    (re.compile(rf"\b(?P<m>\d+)\s*{_EN_MIN}\s+from\s+now", re.I), None),
    (re.compile(rf"\b(?P<h>\d+)\s*{_EN_HOUR}\s+from\s+now", re.I), None),
    (re.compile(r"\b(?:in|after)\s+an?\s+hour\s+and\s+a\s+half\b", re.I), 90),
    (re.compile(r"\b(?:in|after)\s+an?\s+hour\b", re.I), 60),
    (re.compile(r"\b(?:in|after)\s+half\s+an?\s+hour\b", re.I), 30),
    (re.compile(r"\b(?:in|after)\s+a\s+quarter\s+(?:of\s+an\s+)?hour\b", re.I), 15),
    (re.compile(r"\b(?:in|after)\s+a\s+(?:minute|min)\b", re.I), 1),
    # Chinese: 10分钟后 / 过10分钟 / 2个小时后 / 半小时后 / 1个半小时后
    (re.compile(rf"(?P<m>\d+)\s*分钟{_REL_SUFFIX}"), None),
    (re.compile(r"再?过\s*(?P<m>\d+)\s*分钟"), None),
    (re.compile(rf"(?P<h>\d+)\s*个?半\s*(?:小时|钟头){_REL_SUFFIX}"), 30),
    (re.compile(rf"(?P<h>\d+)\s*个?\s*(?:小时|钟头){_REL_SUFFIX}"), None),
    (re.compile(rf"半\s*个?\s*(?:小时|钟头){_REL_SUFFIX}"), 30),
    (re.compile(rf"(?<![点點\d])(?P<q>\d+|一)\s*刻钟?{_REL_SUFFIX}"), None),  # 两刻钟后 (not 三点一刻后)
    (re.compile(r"再?过\s*(?P<h>\d+)\s*个?\s*(?:小时|钟头)"), None),
]

_ZH_PART = (r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|今晚|夜里|半夜|明早|明晚|今早|"
            r"(?:今天|明天)(?:早上|上午|下午|晚上))?")
_EN_PART = r"(?:\s+(?:in\s+the\s+)?(?P<part>morning|afternoon|evening|tonight|at\s+night))?"
_NOT_A_QUANTITY = r"(?!\s*(?:%|percent|degrees?|°|度|quarters?\b|thirds?\b))"

# "At 7": a clock time, unless a set verb makes it the value ("put the AC at 22").
_AT_HOUR = re.compile(rf"\bat\s+(?P<h>\d{{1,2}})(?:\s*o'clock)?\b{_NOT_A_QUANTITY}{_EN_PART}", re.I)
_ABSOLUTE = [
    re.compile(r"\b(?:at\s+)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)(?=\W|$)", re.I),
    re.compile(rf"\b(?:at\s+)?(?P<half>half|(?P<q>quarter))\s+past\s+(?P<h>\d{{1,2}})\b{_EN_PART}", re.I),
    re.compile(rf"\b(?:at\s+)?(?P<to>quarter)\s+to\s+(?P<h>\d{{1,2}})\b{_EN_PART}", re.I),
    re.compile(rf"\b(?:at\s+)?(?P<past>\d{{1,2}})\s+(?:minutes\s+)?past\s+(?P<h>\d{{1,2}})\b{_EN_PART}", re.I),
    re.compile(r"\b(?:at|by|around|till|until)\s+(?P<noon>noon|midday|midnight)\b", re.I),
    re.compile(rf"\bat\s+(?P<h>\d{{1,2}}):(?P<m>\d{{2}})\b{_EN_PART}", re.I),
    _AT_HOUR,
    re.compile(rf"{_ZH_PART}\s*(?P<h>\d{{1,2}})\s*[点點](?:钟)?\s*(?:(?P<half>半)|(?P<q>一刻|1刻|三刻|3刻)|"
               rf"(?P<m>\d{{1,2}})\s*分?)?"),
    re.compile(rf"{_ZH_PART}\s*(?<![\d:])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?=\D|$)"),
]


# How a resolved time stands in the words the model reads: "@07:30".
MARKER = re.compile(r"@(\d\d:\d\d)")


def mark(stamp: str) -> str:
    """The marker of a time in the words, as MARKER reads it back."""
    return f"@{stamp}"


def marked_times(text: str) -> tuple[str, ...]:
    """The times marked in words already read (HH:MM), in order."""
    return tuple(MARKER.findall(text))


@dataclass(frozen=True)
class TimeReading:
    """An utterance with its time expressions replaced by ``@HH:MM`` markers."""

    text: str
    times: tuple[str, ...]
    # The exact instant (epoch seconds) of each time said as a duration, by the HH:MM it shows.
    instants: tuple[tuple[str, float], ...] = ()
    clashes: tuple[str, ...] = ()  # each HH:MM that stands for two instants: its marker cannot tell them apart


def _fmt(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _hour(hour: int, minute: int, part: str, now: int) -> int | None:
    """Minutes after midnight for hour:minute said with a part of day; None if impossible."""
    if hour > 24 or minute > 59:
        return None
    part = part.lower()
    if hour > 12 or hour == 0:
        return (hour % 24) * 60 + minute
    if any(part.startswith(w) or part.endswith(w) for w in _PM_WORDS):
        return ((hour % 12) + 12) * 60 + minute
    if any(part.startswith(w) or part.endswith(w) for w in _AM_WORDS):
        return (hour % 12) * 60 + minute
    if part in _NOON_WORDS:
        return (hour if hour >= 11 else hour + 12) * 60 + minute
    if part in _LATE_WORDS:
        return ((hour + 12) if 6 <= hour < 12 else hour % 12) * 60 + minute
    if hour == 12:
        return 12 * 60 + minute  # "at 12:30" is half past noon; midnight is said as such
    # No part of day: the next time the clock shows it, as a person would mean "at 7".
    first = (hour % 12) * 60 + minute
    second = first + 12 * 60
    return first if first > now else second if second > now else first


_EN_DAY_PART = re.compile(r"\b(tonight|this evening|in the evening|this afternoon|in the afternoon|"
                          r"this morning|in the morning|tomorrow morning)\b", re.I)


def _resolve_absolute(match: re.Match[str], now: int) -> int | None:
    groups = match.groupdict()
    if groups.get("noon"):
        return 0 if groups["noon"].lower() == "midnight" else 12 * 60
    hour = int(groups["h"])
    minute = 0
    if groups.get("to"):
        hour, minute = hour - 1, 45
    elif groups.get("past"):
        minute = int(groups["past"])
    elif groups.get("half"):
        minute = 15 if groups.get("q") else 30
        if groups["half"].startswith(("三", "3")):
            minute = 45
    elif groups.get("q"):
        minute = 45 if groups["q"].startswith(("三", "3")) else 15
    elif groups.get("m"):
        minute = int(groups["m"])
    part = (groups.get("part") or groups.get("ampm") or "").replace(" ", "")
    if not part and groups.get("m") and (groups["h"].startswith("0") or match.re is _ABSOLUTE[-1]):
        # "at 07:00", "6:45关灯": a written clock time with a leading zero, or in Chinese, is 24-hour.
        return _hour(hour, minute, "am" if hour < 12 else "", now) if hour != 12 else 12 * 60 + minute
    if not part:
        # "tonight at 8": the part of day may stand anywhere in the sentence.
        hint = _EN_DAY_PART.search(match.string)
        part = hint.group(1).split()[-1] if hint else ""
    if part == "atnight":
        part = "night"
    return _hour(hour, minute, part, now)


def _duration_s(match: re.Match[str], extra: int | None) -> int:
    groups = match.groupdict()
    quarters = groups.get("q")
    minutes = int(groups.get("h") or 0) * 60 + int(groups.get("m") or 0) + (extra or 0)
    minutes += 15 * (1 if quarters == "一" else int(quarters or 0))
    return minutes * 60


_SET_VERB = re.compile(r"\b(?:set|put|keep|leave|hold)\b", re.I)


def _is_value(text: str, start: int, end: int) -> bool:
    """True for "put the AC at 22": a bare "at N" after a set verb, with no other number, is the value."""
    rest = text[:start] + text[end:]
    return bool(_SET_VERB.search(text[:start])) and not re.search(r"\d", rest) and "o'clock" not in text[start:end]


# "Let the heater run ten more minutes and then stop it", 再开十分钟就关: the device is on and stays on;
# the request is one timed off, said as a duration and an off.
_RUN_THEN_STOP = (
    (re.compile(r"\b(?:let|keep|leave)\s+(?P<what>.+?)\s+(?:run(?:ning)?|on|going)\s+(?:for\s+)?(?:another\s+)?"
                r"(?P<d>\d+)\s+(?:more\s+)?(?P<unit>minutes?|mins?|hours?)(?:\s+more)?,?\s+(?:and\s+)?then\s+"
                r"(?:stop|kill|(?:turn|switch|shut)\s+(?:(?:it|them)\s+)?off)(?:\s+(?:it|them))?", re.I),
     r"turn off \g<what> in \g<d> \g<unit>"),
    (re.compile(r"再(?:开|运行|烧|吹|转|用|跑|亮|让它[开转跑])?\s*(?P<dur>\d+\s*分钟|\d+\s*个?(?:小时|钟头)|半\s*个?\s*(?:小时|钟头)|"
                r"(?:\d+|一)\s*刻钟?)\s*(?:就|然后|后|再|之后)?\s*(?:关掉|关了|关上|关闭|关|停掉|停)"),
     r"\g<dur>后关掉"),
)


def keeps_running(text: str) -> bool:
    """True for "let the heater run ten more minutes and then stop it", 再开十分钟就关: one timed off."""
    digits = normalize_numbers(text)
    return any(idiom.search(digits) for idiom, _ in _RUN_THEN_STOP)


def read_times(text: str, now: str | float, zone: tzinfo | None = None) -> TimeReading:
    """Find time expressions, resolve them against ``now`` (epoch seconds on the zone's clock, the local
    one by default; or a fixed HH:MM) and mark them in the text."""
    if isinstance(now, str):
        # A fixed HH:MM (`parse --now`, the development set) reads on a clock that never changes.
        zone = UTC
        hour, minute = (int(p) for p in now.split(":"))
        now = datetime(2000, 1, 1, hour, minute, tzinfo=UTC).timestamp()
    for idiom, said in _RUN_THEN_STOP:
        text = idiom.sub(said, text)
    instant = now
    now_h, now_m = (int(p) for p in hhmm(instant, zone).split(":"))
    now_minutes = now_h * 60 + now_m
    found: list[tuple[int, int, str, float | None]] = []  # where, the HH:MM, and a duration's instant

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _, _ in found)

    for pattern, extra in _RELATIVE:
        for match in pattern.finditer(text):
            if free(*match.span()):
                due = instant + _duration_s(match, extra)
                found.append((*match.span(), hhmm(due, zone), due))
    for pattern in _ABSOLUTE:
        for match in pattern.finditer(text):
            start, end = match.span()
            if not match.group(0).strip() or not free(start, end):
                continue
            if pattern is _AT_HOUR and _is_value(text, start, end):
                continue
            minutes = _resolve_absolute(match, now_minutes)
            if minutes is not None:
                found.append((start, end, _fmt(minutes), None))
    found.sort(key=lambda f: f[0])
    pieces: list[str] = []
    times: list[str] = []
    meant: dict[str, set[float | None]] = {}  # each HH:MM shown: the instants (None: a clock time) it stands for
    last = 0
    for start, end, stamp, exact in found:
        pieces.append(text[last:start])
        pieces.append(f" {mark(stamp)} ")
        times.append(stamp)
        meant.setdefault(stamp, set()).add(exact)
        last = end
    # A marker is a duration's instant when it stands for that one instant; "in 25 hours" beside "at 13:00",
    # or two durations on the night the clocks go back, show one HH:MM for two instants: a clash.
    instants = {stamp: exact for stamp, m in meant.items() if len(m) == 1 and (exact := next(iter(m))) is not None}
    clashes = tuple(stamp for stamp, m in meant.items() if len(m) > 1)
    pieces.append(text[last:])
    marked = re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()
    marked = re.sub(r"\s+([,.!?，。！？])", r"\1", marked)
    return TimeReading(marked, tuple(dict.fromkeys(times)), tuple(instants.items()), clashes)
