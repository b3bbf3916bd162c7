"""Questions and negations are not commands: "is the AC on?", "空调开着吗", "don't turn on the light",
"别关灯" and "it's not too dark" must move nothing."""

from __future__ import annotations

import re

_EN_REQUEST = re.compile(r"^(please\b|can (you|u)\b|could (you|u)\b|would you\b|will you\b|would you mind\b|"
                         r"can i get\b|i want\b|i'd like\b|let's\b)")
# "Do the floors" is a request; "do you…" asks.
_EN_QUESTION = re.compile(r"^(is|are|was|were|do(?= (?:you|i|we|they|u)\b)|does|did|has|have|what|what's|whats|"
                          r"which|how|why|when|where|who|isn't|aren't|doesn't|didn't)\b")
_ZH_REQUEST = re.compile(r"^(请|能不能|能否|可以|可不可以|帮我|麻烦|能帮|你能|你可以|能把|能给|能将)|"
                         r"(好吗|好不好|可以吗|行吗|行不行)[？?]?$")
# 什么都 / 什么也 is "anything at all" ("什么都看不见"), not a question.
_ZH_QUESTION = re.compile(r"多少|几度|什么(?![都也])|怎么样|是不是|有没有|哪些|哪个|吗[？?]?$|呢[？?]?$|"
                          r"没有[？?]?$|了没")


# Words before the utterance proper: "hey, is the light on", "ok so which lights are on".
_OPENER = re.compile(r"^(?:(?:hey|hi|hello|ok|okay|so|um|uh|well|oh|yo|嘿|喂|哎)\b[\s,，.!！]*)+")
# A question inside a request: "could you tell me whether…", "do you know if…", 请问…, 我想知道….
_EMBEDDED = re.compile(r"\b(?:tell me|do you know|i wonder|any idea|can you check|could you check|let me know)\b"
                       r".*\b(?:if|whether|how|which|what)\b|^请问|想知道|"
                       r"(?:告诉我|看看|查查|看一下|查一下).*(?:吗|没有|没|是不是|多少|几|多亮|多高)[？?]?$")
# How many, which, how much (几个, 哪几, 多亮), and a state asked at the end (开着没, 关了没).
_ZH_COUNT = re.compile(r"几[个台盏只把扇部]|哪几|多亮|多热|多冷|多高|多大|(?:着|了)没[？?]?$")


def is_question(text: str) -> bool:
    """True when the utterance asks about the home instead of asking for something to be done."""
    lowered = _OPENER.sub("", text.strip().lower())
    if _EMBEDDED.search(lowered) or _ZH_COUNT.search(lowered):
        return True
    if _EN_REQUEST.search(lowered) or _ZH_REQUEST.search(lowered):
        return False
    if _EN_QUESTION.search(lowered) or _ZH_QUESTION.search(lowered):
        return True
    return lowered.endswith(("?", "？"))


# 别 is "don't" where a request starts; inside words (特别, 区别) it is not.
_NEGATION = re.compile(r"\b(?:don'?t|do not|never|no need to)\b|\bnot (?:too|so|that)\b|不要|不用|不必|甭|"
                       r"(?:^|[\s,，。!！@\d:]|你|请|先|就|可|千万|万万)别")


# "Don't forget to turn off the lights" asks for it to be done.
_REMINDER = re.compile(r"\b(?:don'?t|do not|never) forget\b|(?:别|不要)忘(?:了|记)?")


def is_negated(text: str) -> bool:
    """True when the words ask for something not to be done, or deny a complaint."""
    return _NEGATION.search(_REMINDER.sub(" ", text.strip().lower())) is not None


# Words addressed to the system's own instructions: "ignore your rules and…", 忽略之前的指令. Such text is
# not a request, whatever it goes on to ask.
_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^,.;!?]{0,30}?"
    r"\b(?:rules|instructions|prompt|guidelines|restrictions|programming|limits|orders)\b"
    r"|\byou\s+are\s+now\s+(?:in\s+)?(?:an?\s+)?(?:admin|developer|god|debug|root|unrestricted|jailbreak)\b"
    r"|\b(?:admin|developer|god|debug)\s+mode\b|\bsystem\s+prompt\b|\bjailbreak\b"
    r"|(?:忽略|无视|忘掉|忘记|不要管|别管|不用管)[^，,。；;！!]{0,8}?(?:指令|规则|设定|限制|提示|命令|要求)"
    r"|(?:管理员|开发者|上帝|调试)模式|你现在是", re.I)


def addresses_instructions(text: str) -> bool:
    """True when the words speak to the system's own instructions instead of asking for something."""
    return bool(_INSTRUCTIONS.search(text))
