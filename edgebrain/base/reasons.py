"""Why a request was not carried out, in both languages: a ``Reason`` is the English text that results and
logs carry, with a code and the same reason in Chinese for a reply in the request's language."""

from __future__ import annotations


class Reason(str):
    """A reason as English text (what ``errors`` publish), with its ``code`` and its Chinese text ``zh``."""

    code: str
    zh: str

    def __new__(cls, code: str, text: str, zh: str) -> Reason:
        made = super().__new__(cls, text)
        made.code = code
        made.zh = zh
        return made


def in_chinese(reason: str) -> str:
    """The Chinese text of a reason; a reason without one (a device's own error) is said generally."""
    return reason.zh if isinstance(reason, Reason) else "设备出了问题"


def quoted(words: list[str] | tuple[str, ...], zh: bool = False) -> str:
    """Words as said in a reason, each once: 'lock', 'door' or “锁”、“门”."""
    unique = list(dict.fromkeys(words))
    return "、".join(f"“{w}”" for w in unique) if zh else ", ".join(repr(w) for w in unique)
