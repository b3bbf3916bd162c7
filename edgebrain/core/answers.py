"""Answers to questions about the home, from the states edgebrain knows: yes, no or "I have not heard",
a value, which devices, how many; and the sentence to say, in the language of the question."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgebrain.base.schemas import type_value_unit
from edgebrain.core.reply import chinese_name, join_names, said_value
from edgebrain.devices.registry import Registry
from edgebrain.devices.state import DeviceState
from edgebrain.understand.words.talk import Question


@dataclass(frozen=True)
class Answer:
    """What a question gets: ``kind`` yes, no, unknown, value, which, count or missing; the devices it names
    (which: those in the state asked about; unknown: those not heard from), a value or a count, and each
    covered device's state as known (on, value, age in seconds; None where never heard)."""

    kind: str
    devices: tuple[str, ...] = ()
    value: float | None = None
    count: int | None = None
    states: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``answer`` of a result."""
        data: dict[str, Any] = {"kind": self.kind, "devices": list(self.devices), "states": list(self.states)}
        if self.value is not None:
            data["value"] = self.value
        if self.count is not None:
            data["count"] = self.count
        return data


def _fresh(state: DeviceState | None, now: float, stale_s: float) -> DeviceState | None:
    return state if state is not None and state.on is not None and state.fresh(now, stale_s) else None


def answer(question: Question, known: Mapping[str, DeviceState], stale_s: float, now: float | None = None
           ) -> Answer:
    """The answer to ``question`` from the ``known`` states; a state older than ``stale_s`` is not known."""
    now = time.time() if now is None else now
    if not question.devices:
        return Answer("missing")
    states = tuple({"device": d, **(known[d].to_dict(now) if d in known else {"on": None, "value": None,
                                                                              "age_s": None})}
                   for d in question.devices)
    fresh = {d: _fresh(known.get(d), now, stale_s) for d in question.devices}
    wanted = question.state == "on"
    matching = tuple(d for d, s in fresh.items() if s is not None and s.on is wanted)
    unheard = tuple(d for d, s in fresh.items() if s is None)
    if question.shape == "which":
        return Answer("which", matching, states=states)
    if question.shape == "how_many":
        return Answer("count", matching, count=len(matching), states=states)
    if question.shape == "value":
        device = question.devices[0]
        state = known.get(device)  # a value told is known whether or not the device says on or off
        if state is None or state.value is None or not state.fresh(now, stale_s):
            return Answer("unknown", (device,), states=states)
        return Answer("value", (device,), value=state.value, states=states)
    if question.shape == "all":
        if len(matching) + len(unheard) < len(fresh):
            return Answer("no", tuple(d for d in fresh if d not in matching and d not in unheard), states=states)
        return Answer("unknown", unheard, states=states) if unheard else Answer("yes", matching, states=states)
    # one and any: yes when one of them is in the state asked about (three-valued: unknown beats no).
    if matching:
        return Answer("yes", matching, states=states)
    return Answer("unknown", unheard, states=states) if unheard else Answer("no", question.devices, states=states)


def _name(registry: Registry, device_id: str, zh: bool) -> str:
    device = registry.get(device_id)
    if device is None:
        return device_id
    return chinese_name(device) if zh else device.name.lower() if device.name[:1].isupper() else device.name


_WORDS = {  # (state asked, is a cover) -> the word for it
    ("on", False): ("on", "开着"), ("off", False): ("off", "关着"),
    ("on", True): ("open", "开着"), ("off", True): ("closed", "关着")}


def _clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


def answer_text(result: Answer, question: Question, registry: Registry, known: Mapping[str, DeviceState],
                zh: bool, missing: str = "") -> str:
    """The sentence that answers: "Yes, the porch light is on.", "没有，卧室的灯都关着。", "I have not heard
    from the porch light since 09:12."."""
    cover = all((d := registry.get(i)) is not None and d.type == "cover" for i in question.devices)
    word_en, word_zh = _WORDS[(question.state, cover)]
    names = [_name(registry, d, zh) for d in result.devices]
    who = join_names(names, zh)
    if result.kind == "missing":
        return ("这个家里没有这样的设备。" if zh else f"I can't tell: {missing or 'nothing here is called that'}.")
    if result.kind == "unknown":
        heard = [known[d].at for d in result.devices if d in known]
        if zh:
            return f"我没有收到{who}的状态" + (f"，上次是{_clock(max(heard))}。" if heard else "。")
        return (f"I have not heard from the {who} since {_clock(max(heard))}." if heard
                else f"I have not heard from the {who} yet.")
    if result.kind == "value":
        device = registry.get(result.devices[0])
        unit = type_value_unit(device.type) if device else ""
        value = said_value(result.value or 0.0, unit, zh)
        return f"{who}现在是{value}。" if zh else f"The {who} is at {value}."
    be = "is" if len(names) == 1 else "are"
    if result.kind == "which":
        if not result.devices:
            return f"没有{word_zh}的。" if zh else f"None of them is {word_en}."
        return f"{who}{word_zh}。" if zh else f"The {who} {be} {word_en}."
    if result.kind == "count":
        count_be = "is" if result.count == 1 else "are"
        return f"有{result.count}个{word_zh}。" if zh else f"{result.count} of them {count_be} {word_en}."
    if result.kind == "yes":
        return f"是的，{who}{word_zh}。" if zh else f"Yes, the {who} {be} {word_en}."
    other_zh = "关着" if word_zh == "开着" else "开着"  # 没有，卧室灯关着: the state it is in instead
    return f"没有，{who}{other_zh}。" if zh else f"No, the {who} {be} not {word_en}."
