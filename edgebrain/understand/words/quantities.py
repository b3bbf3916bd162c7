"""Quantities said in words: proportions ("halfway", 七成, 四分之三) and Fahrenheit, as the value the schema takes.

Read after the times, so "half past nine" and 半个钟头 are times already. A proportion becomes a
percentage; for a cover, whose value is its position in percent *open* (the command schema), a
proportion said of closing ("three quarters closed", 放下一半) is the rest of it.
"""

from __future__ import annotations

import re

from edgebrain.base.schemas import device_types

_EN = r"(?<![\w-])"
# Not a share of a device's range: "half an hour", "half the lights", "half asleep", "a half bath",
# "a quarter of an hour".
_NOT_A_SHARE = r"(?!\s+(?:an?\s+(?:hour|minute)|hours?\b|minutes?\b|the\b|of\b|my\b|asleep|awake|bath|dead|price|time))"
_PROPORTIONS = (
    (re.compile(rf"{_EN}(?:3|three)[ -]quarters?(?:\s+of\s+the\s+way)?\b{_NOT_A_SHARE}", re.I), 75),
    (re.compile(rf"{_EN}(?:(?:a|one|1)[ -])?quarter(?:\s+of\s+the\s+way)?\b{_NOT_A_SHARE}", re.I), 25),
    (re.compile(rf"{_EN}(?:(?:a|one)\s+)?half(?:way|-way)?(?:\s+of\s+the\s+way)?\b{_NOT_A_SHARE}", re.I), 50),
    (re.compile(r"(?:4|四)\s*分之\s*(?:3|三)"), 75),
    (re.compile(r"(?:4|四)\s*分之\s*(?:1|一)"), 25),
    (re.compile(r"(?:2|二)\s*分之\s*(?:1|一)|一半"), 50),
)
# 七成 (after the numbers stage, 7成): tenths. Not 调成 ("set to"), whose 成 follows no digit.
_TENTHS = re.compile(r"(?<![\d.])([1-9]|[一二两三四五六七八九])\s*成(?![功员为了])")
_ZH_DIGIT = {c: n for n, c in enumerate("一二三四五六七八九", start=1)} | {"两": 2}
# Closing words: a cover closed by a proportion stands open by the rest.
_CLOSING = re.compile(r"\b(?:clos(?:e|ed|ing)|shut|lower(?:ed)?|pull(?:ed)?\s+down|bring\s+down|draw)\b"
                      r"|关|放下|拉上|合上", re.I)
# Where a clause ends, for the closing word of a proportion: "open the shades a quarter and close …".
_CLAUSE_BREAK = re.compile(r"[,;，；。]|\b(?:and|then|but)\b|然后|再|和", re.I)
# "72 °F", "68 F", 77华氏度, "72F", "20 degrees F"; never "2F hallway" or "room 3 F": a bare F only
# after a room temperature.
_FAHRENHEIT = re.compile(r"(?P<n>-?\d+(?:\.\d+)?)"
                         r"(?:\s*°\s*F\b|\s*degrees?\s+(?:fahrenheit|F)\b|\s*fahrenheit\b|\s*华氏度)"
                         r"|华氏\s*(?P<zh>-?\d+(?:\.\d+)?)\s*度|(?<![\d.])(?P<bare>[4-9]\d|1[01]\d)\s*F\b", re.I)


def _of_other_types() -> re.Pattern[str]:
    """The type words of every type without a position (lights, fans, …): their proportions are levels."""
    words = {w for name, fragment in device_types().items() if name != "cover" for w in fragment.get("x-words", ())}
    ascii_words = sorted((w for w in words if w.isascii()), key=len, reverse=True)
    other = sorted((w for w in words if not w.isascii()), key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(map(re.escape, ascii_words))})\b|{'|'.join(map(re.escape, other))}", re.I)


_LEVELLED = _of_other_types()


def _celsius(match: re.Match[str]) -> str:
    fahrenheit = float(match.group("n") or match.group("zh") or match.group("bare"))
    return f"{round((fahrenheit - 32) * 5 / 9)}°"


def _clause_around(text: str, at: int) -> str:
    """The clause of ``text`` that holds position ``at``."""
    start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, at)), default=0)
    end = next((m.start() for m in _CLAUSE_BREAK.finditer(text, at)), len(text))
    return text[start:end]


def read_quantities(text: str) -> str:
    """The words with proportions as percentages and Fahrenheit as degrees Celsius."""
    text = _FAHRENHEIT.sub(_celsius, text)
    found = False

    def percent(match: re.Match[str], share: int) -> str:
        nonlocal found
        found = True
        clause = _clause_around(match.string, match.start())
        closing = bool(_CLOSING.search(clause)) and not _LEVELLED.search(clause)
        return f" {100 - share if closing else share}% "

    for pattern, share in _PROPORTIONS:
        text = pattern.sub(lambda m, share=share: percent(m, share), text)  # type: ignore[misc]
    text = _TENTHS.sub(lambda m: percent(m, int(_ZH_DIGIT.get(m.group(1), m.group(1))) * 10), text)
    return re.sub(r"[ \t]{2,}", " ", text).strip() if found else text
