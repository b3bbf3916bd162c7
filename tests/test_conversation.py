"""State questions answered from the states edgebrain knows, follow-ups within a conversation, and the room
a site is in: the real understanding (llama.cpp and the model) through the daemon's own handler, routing dry."""

from __future__ import annotations

import re
import time

import pytest

from edgebrain.core.conversation import Conversations
from edgebrain.core.handler import Handler
from edgebrain.core.history import History
from edgebrain.core.messages import Request, Result
from edgebrain.core.replies import Replies
from edgebrain.core.schedule import Schedule
from edgebrain.devices.router import Router
from edgebrain.devices.state import DeviceState, StateBook

pytestmark = pytest.mark.model


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def talk(tmp_path, registry, understander):  # type: ignore[no-untyped-def]
    router = Router(registry, prefix="eb", dry_run=True)
    router.states = StateBook()
    clock = Clock()
    conversations = Conversations({"kitchen-pe": "kitchen", "bedroom-sat": "bedroom"}, 300.0, clock)
    handler = Handler(understander, router, Schedule(tmp_path / "s.db"),
                      Replies(None, "eb", None, router, History()), clock, conversations, 3600.0)
    return handler, router.states, clock


def said(handler: Handler, text: str, session: str | None = "s1", site: str | None = None) -> Result:
    result = handler.handle(Request(text, site=site, source="test", session=session))
    assert result is not None
    return result


def moved(result: Result) -> set[tuple[str, str]]:
    return {(c.device, c.action) for c in result.commands}


def heard(book: StateBook, device: str, on: bool | None, value: float | None = None, age_s: float = 10) -> None:
    book.keep(device, DeviceState(on, value, {}, time.time() - age_s))


def test_questions_of_every_shape_are_answered_from_the_states_and_move_nothing(talk):
    handler, book, _ = talk
    heard(book, "kitchen_light", True, 80)
    heard(book, "kitchen_counter_light", False)
    heard(book, "living_room_light", False)
    heard(book, "living_room_ac", True, 24)
    cases = [
        ("is the kitchen light on?", "yes", "Yes, the kitchen light is on."),
        ("客厅空调开着吗", "yes", "是的，客厅空调开着。"),
        ("is the living room light off?", "yes", "Yes, the living room ceiling light is off."),
        ("what is the living room AC set to?", "value", "The living room air conditioner is at 24 °C."),
        ("are any lights on in the kitchen?", "yes", "Yes, the kitchen light is on."),
        ("are all the kitchen lights on?", "no", "No, the kitchen counter light is not on."),
        ("how many lights are on in the kitchen?", "count", "1 of them is on."),
    ]
    for text, kind, reply in cases:
        result = said(handler, text, session=None)
        assert (result.status, result.commands, result.answer["kind"]) == ("answered", (), kind), text
        assert result.reply == reply, text
    no = said(handler, "客厅灯开着吗", session=None)
    assert (no.answer["kind"], no.reply) == ("no", "没有，客厅灯关着。")
    which = said(handler, "哪些灯开着", session=None)
    assert which.answer["kind"] == "which" and which.answer["devices"] == ["kitchen_light"]
    assert which.reply == "厨房灯开着。"
    missing = said(handler, "is the garage door open?", session=None)
    assert missing.answer["kind"] == "missing" and missing.commands == ()


def test_a_state_not_heard_or_stale_is_said_so_never_guessed(talk):
    handler, book, _ = talk
    heard(book, "kitchen_light", True, age_s=7200)
    stale = said(handler, "is the kitchen light on?", session=None)
    assert stale.answer["kind"] == "unknown"
    assert re.fullmatch(r"I have not heard from the kitchen light since \d\d:\d\d\.", stale.reply)
    never = said(handler, "is the kitchen fan on?", session=None)
    assert (never.answer["kind"], never.reply) == ("unknown", "I have not heard from the kitchen extractor fan yet.")
    assert never.answer["states"] == [{"device": "kitchen_fan", "on": None, "value": None, "age_s": None}]


def test_without_a_previous_turn_a_reference_moves_nothing_and_asks(talk):
    handler, _, _ = talk
    for text in ("turn it off", "把它打开", "turn those on", "turn it up a bit"):
        result = said(handler, text, session=f"fresh-{text}")
        assert (result.status, result.commands) == ("ask", ()), text
        assert result.reply in ("Which device do you mean?", "你说的是哪个设备？"), text


def test_a_reference_follows_the_previous_turn_of_its_conversation(talk):
    handler, _, _ = talk
    assert moved(said(handler, "turn on the kitchen light")) == {("kitchen_light", "on")}
    assert moved(said(handler, "turn it off")) == {("kitchen_light", "off")}
    assert moved(said(handler, "and the bedroom")) == {("bedroom_light", "off")}
    timed = said(handler, "turn it on in ten minutes")
    assert [(c.device, c.action, c.time is not None) for c in timed.commands] == [("bedroom_light", "on", True)]
    # Another conversation never sees this one's devices.
    assert said(handler, "turn it off", session="s2").status == "ask"


def test_it_after_two_groups_asks_which_and_them_takes_both(talk):
    handler, _, _ = talk
    said(handler, "turn on the kitchen fan and the bedroom light")
    ask = said(handler, "turn it off")
    assert ask.status == "ask" and ask.commands == ()
    assert ask.reply == "Which do you mean: the kitchen extractor fan or the bedroom light?"
    assert moved(said(handler, "turn them off")) == {("kitchen_fan", "off"), ("bedroom_light", "off")}


def test_the_memory_ends_after_five_minutes_of_silence(talk):
    handler, _, clock = talk
    said(handler, "turn on the kitchen light")
    clock.now += 301
    assert said(handler, "turn it off").status == "ask"


def test_a_sites_room_decides_the_light_and_a_room_said_wins(talk):
    handler, _, _ = talk
    assert moved(said(handler, "turn on the light", session=None, site="bedroom-sat")) == {("bedroom_light", "on")}
    assert moved(said(handler, "开灯", session=None, site="bedroom-sat")) == {("bedroom_light", "on")}
    assert moved(said(handler, "turn on the kitchen light", session=None, site="bedroom-sat")) == {
        ("kitchen_light", "on")}


def test_a_clause_without_a_room_is_in_the_room_the_clause_before_named(talk):
    handler, _, _ = talk
    assert moved(said(handler, "turn on the bedroom light and the AC", session=None)) == {
        ("bedroom_light", "on"), ("bedroom_ac", "on")}
    # Said in the kitchen, the room said first still carries: the bedroom's AC, not every AC.
    assert moved(said(handler, "turn off the bedroom light and the AC", session=None, site="kitchen-pe")) == {
        ("bedroom_light", "off"), ("bedroom_ac", "off")}


def test_a_chinese_refusal_is_wholly_chinese_and_names_the_word(talk):
    handler, _, _ = talk
    result = said(handler, "把门锁上", session=None)
    assert result.commands == () and result.reply.startswith("没能做到：")
    assert not re.search(r"[A-Za-z]", result.reply), result.reply
    assert "锁" in result.reply


def test_a_change_by_an_amount_moves_the_known_value_by_it_and_never_sets_the_amount(talk):
    handler, book, _ = talk
    heard(book, "living_room_ac", True, 24)
    warmer = said(handler, "turn the living room AC up two degrees", session=None)
    assert [c.to_dict() for c in warmer.commands] == [{"device": "living_room_ac", "action": "set", "value": 26}]
    cooler = said(handler, "把客厅空调调低两度", session=None)
    assert [c.to_dict() for c in cooler.commands] == [{"device": "living_room_ac", "action": "set", "value": 22}]
    # Not heard from: one step up, as any "warmer" is; never a set to 2.
    unknown = said(handler, "turn the bedroom AC up two degrees", session=None)
    assert [c.to_dict() for c in unknown.commands] == [{"device": "bedroom_ac", "action": "increase"}]
    heard(book, "living_room_ac", True, 29)
    beyond = said(handler, "turn the living room AC up two degrees", session=None)
    assert beyond.status == "rejected" and beyond.commands == ()
