"""Spelled-out numbers to digits, English and Chinese, so the model and the time reader see digits."""

from __future__ import annotations

import re
from collections.abc import Sequence

_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
            "eighty": 80, "ninety": 90}
_EN_NUMBER = re.compile(
    r"\b(?:(?P<tens>" + "|".join(_EN_TENS) + r")(?:[\s-](?P<unit1>" + "|".join(list(_EN_UNITS)[1:10])
    + r"))?|(?P<unit>" + "|".join(_EN_UNITS) + r")(?:\s+hundred)?|(?P<hundred>a\s+hundred|one\s+hundred))\b",
    re.IGNORECASE,
)

_UNIT_AFTER = re.compile(r"\s*(?:hours?\b|minutes?\b|mins?\b|degrees?\b|percent\b|%|o'clock\b|am\b|pm\b|thirty\b)",
                         re.IGNORECASE)

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_ZH_SCALES = (("千", 1000), ("百", 100))
_ZH_RUN = re.compile(r"[零〇一二两三四五六七八九十百千]+")
_ZH_TIME_OF_DAY = ("凌晨", "早上", "早晨", "上午", "中午", "下午", "傍晚", "晚上", "今晚", "明早", "明晚", "夜里")


def _en_value(match: re.Match[str]) -> str:
    if match.group("hundred"):
        return "100"
    if match.group("tens"):
        value = _EN_TENS[match.group("tens").lower()]
        if match.group("unit1"):
            value += _EN_UNITS[match.group("unit1").lower()]
        return str(value)
    word = match.group(0).lower()
    # "the one in the kitchen" is not a number: "one" becomes 1 only before a unit.
    if word == "one" and not _UNIT_AFTER.match(match.string, match.end()):
        return match.group(0)
    value = _EN_UNITS[match.group("unit").lower()]
    return str(value * 100 if word.endswith("hundred") else value)


def zh_to_int(run: str) -> int | None:
    """Value of a Chinese numeral like 二十四, 十五, 一百, 一千; None if it is not a plain number."""
    if not run:
        return None
    for mark, scale in _ZH_SCALES:
        if mark in run:
            head, _, tail = run.partition(mark)
            lead = _ZH_DIGITS.get(head) if head else 1
            rest = zh_to_int(tail.lstrip("零〇")) if tail.lstrip("零〇") else 0
            if lead is None or rest is None:
                return None
            # 一百五 means 150, like 一百五十 (and 一千五 1500): a lone digit counts in the next unit down.
            if len(tail) == 1 and tail in _ZH_DIGITS:
                rest = _ZH_DIGITS[tail] * scale // 10
            return lead * scale + rest
    if "十" in run:
        head, _, tail = run.partition("十")
        tens = _ZH_DIGITS.get(head) if head else 1
        units = _ZH_DIGITS.get(tail) if tail else 0
        if tens is None or units is None or "十" in tail:
            return None
        return tens * 10 + units
    if all(ch in _ZH_DIGITS for ch in run):
        # Digit by digit, as in 二零 (20) for a year or a room number; rare in commands.
        return int("".join(str(_ZH_DIGITS[ch]) for ch in run))
    return None


def _zh_replace(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _ZH_RUN.finditer(text):
        run = match.group(0)
        before = text[max(0, match.start() - 3):match.start()]
        after = text[match.end():match.end() + 3]
        # 一点 / 一下 / 一些 after a verb mean "a little", not one o'clock.
        if run == "一" and not after.startswith(("点半", "点钟")) and not any(
                before.endswith(w) for w in _ZH_TIME_OF_DAY) and not after.startswith(
                ("个小时", "个半", "小时", "分钟", "度", "%", "档")):
            continue
        value = zh_to_int(run)
        if value is None:
            continue
        out.append(text[last:match.start()])
        out.append(str(value))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def normalize_numbers(text: str, keep: Sequence[str] = ()) -> str:
    """Replace spelled-out English and Chinese numbers by digits; 百分之五十 becomes 50%.

    The words of ``keep`` (names like 百叶窗 or "Fan one") are left as they are.
    """
    kept: list[str] = []
    for phrase in sorted(keep, key=len, reverse=True):
        if phrase and phrase in text:
            # A private-use character stands in for the phrase while numbers are read.
            text = text.replace(phrase, chr(0xE000 + len(kept)))
            kept.append(phrase)
    text = _normalize(text)
    for index, phrase in enumerate(kept):
        text = text.replace(chr(0xE000 + index), phrase)
    return text


def _normalize(text: str) -> str:
    text = _EN_NUMBER.sub(_en_value, text)
    # 零下 (below zero) is a sign, not the digit 0: "零下五度" is -5 degrees.
    text = re.sub(r"零下(?=[零〇一二两三四五六七八九十百千\d])", "负", text)
    text = re.sub(r"百分之([零〇一二两三四五六七八九十百千]+)",
                  lambda m: f"{zh_to_int(m.group(1))}%" if zh_to_int(m.group(1)) is not None else m.group(0),
                  text)
    # 百分之80: digits after 百分之 are a percentage too.
    return _zh_replace(re.sub(r"百分之\s*(\d+)", r"\1%", text))
