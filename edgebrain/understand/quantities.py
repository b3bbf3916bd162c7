"""Quantities said in words: proportions ("halfway", 七成, 四分之三) and Fahrenheit, as the value the schema takes.

Read after the times, so "half past nine" and 半个钟头 are times already. A proportion becomes a
percentage; for a cover, whose value is its position in percent *open* (the command schema), a
proportion said of closing ("three quarters closed", 放下一半) is the rest of it.
"""

from __future__ import annotations

import re

from ..schemas import device_types

_EN = r"(?<![\w-])"
_PROPORTIONS = (
    (re.compile(rf"{_EN}(?:3|three)[ -]quarters?(?:\s+of\s+the\s+way)?\b", re.I), 75),
    (re.compile(rf"{_EN}(?:(?:a|one|1)[ -])?quarter(?:\s+of\s+the\s+way)?\b", re.I), 25),
    (re.compile(rf"{_EN}(?:(?:a|one)\s+)?half(?:way|-way)?(?:\s+of\s+the\s+way)?\b", re.I), 50),
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
# "72 °F", "68 F", 77华氏度; never "2F hallway", a floor.
_FAHRENHEIT = re.compile(r"(?P<n>-?\d+(?:\.\d+)?)"
                         r"(?:\s*°\s*F\b|\s*degrees?\s+fahrenheit\b|\s*fahrenheit\b|\s+F\b|\s*华氏度)"
                         r"|华氏\s*(?P<zh>-?\d+(?:\.\d+)?)\s*度", re.I)


def _of_other_types() -> re.Pattern[str]:
    """The type words of every type without a position (lights, fans, …): their proportions are levels."""
    words = {w for name, fragment in device_types().items() if name != "cover" for w in fragment.get("x-words", ())}
    ascii_words = sorted((w for w in words if w.isascii()), key=len, reverse=True)
    other = sorted((w for w in words if not w.isascii()), key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(map(re.escape, ascii_words))})\b|{'|'.join(map(re.escape, other))}", re.I)


_LEVELLED = _of_other_types()


def _celsius(match: re.Match[str]) -> str:
    fahrenheit = float(match.group("n") or match.group("zh"))
    return f"{round((fahrenheit - 32) * 5 / 9)}°"


def read_quantities(text: str) -> str:
    """The words with proportions as percentages and Fahrenheit as degrees Celsius."""
    text = _FAHRENHEIT.sub(_celsius, text)
    closing = bool(_CLOSING.search(text)) and not _LEVELLED.search(text)
    found = False

    def percent(share: int) -> str:
        nonlocal found
        found = True
        return f" {100 - share if closing else share}% "

    for pattern, share in _PROPORTIONS:
        text = pattern.sub(lambda _m, share=share: percent(share), text)  # type: ignore[misc]
    text = _TENTHS.sub(lambda m: percent(int(_ZH_DIGIT.get(m.group(1), m.group(1))) * 10), text)
    return re.sub(r"[ \t]{2,}", " ", text).strip() if found else text
