"""Numbers, times, mentions and questions are read by code, so the model never does arithmetic."""

from __future__ import annotations

import pytest

from edgebrain.understand.model.grammar import numbers_in
from edgebrain.understand.words.mentions import candidate_targets, find_mentions
from edgebrain.understand.words.numbers import normalize_numbers, zh_to_int
from edgebrain.understand.words.questions import is_question
from edgebrain.understand.words.times import read_times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("set the ac to twenty four degrees", "set the ac to 24 degrees"),
        ("in forty-five minutes", "in 45 minutes"),
        ("one hundred percent", "100 percent"),
        ("the one in the kitchen", "the one in the kitchen"),
        ("空调调到二十六度", "空调调到26度"),
        ("百分之五十", "50%"),
        ("调高一点", "调高一点"),
        ("一个小时后", "1个小时后"),
        ("零下五度", "负5度"),
    ],
)
def test_numbers(text, expected):
    assert normalize_numbers(text) == expected


@pytest.mark.parametrize(("text", "numbers"), [("set to -40", (-40,)), ("minus 40 degrees", (-40,)), ("负5度", (-5,)),
                                               ("空调调到-5度", (-5,)), ("调到－5度", (-5,)), ("to −5", (-5,)),
                                               ("bedroom-2 light", (2,)), ("20-25 degrees", (20, 25))])
def test_numbers_keep_their_sign(text, numbers):
    assert numbers_in(text) == numbers


def test_zh_to_int():
    assert [zh_to_int(x) for x in ("十", "十五", "二十", "二十四", "一百", "两")] == [10, 15, 20, 24, 100, 2]
    assert [zh_to_int(x) for x in ("一千", "两千五百", "一千零五", "一千五", "一百五")] == [1000, 2500, 1005, 1500, 150]


@pytest.mark.parametrize(
    ("text", "now", "times"),
    [
        ("turn on the light at 7:30 pm", "15:00", ("19:30",)),
        ("turn off the fan in 45 minutes", "15:00", ("15:45",)),
        ("turn off the fan in 45 minutes", "23:30", ("00:15",)),
        ("in 2 hours and 30 minutes", "15:00", ("17:30",)),
        ("in half an hour", "15:00", ("15:30",)),
        ("at 7", "15:00", ("19:00",)),
        ("at 7", "05:00", ("07:00",)),
        ("at 6 in the morning", "15:00", ("06:00",)),
        ("tonight at 8", "09:00", ("20:00",)),
        ("at half past six", "15:00", ("18:30",)),
        ("at noon", "15:00", ("12:00",)),
        ("晚上8点开空调", "15:00", ("20:00",)),
        ("10分钟后关灯", "15:00", ("15:10",)),
        ("半小时后", "15:00", ("15:30",)),
        ("明天早上6点半", "15:00", ("06:30",)),
        ("下午3点15分", "09:00", ("15:15",)),
        ("1个小时以后", "15:00", ("16:00",)),
        ("keep the bedroom at 22 degrees", "15:00", ()),
        ("set the lights at 50%", "15:00", ()),
        ("turn on the light at 7 pm and off at 11 pm", "15:00", ("19:00", "23:00")),
    ],
)
def test_times_resolved_against_now(text, now, times):
    assert read_times(normalize_numbers(text), now).times == times


def test_time_expression_becomes_a_marker():
    assert read_times("turn off the bedroom fan in 45 minutes", "15:00").text == "turn off the bedroom fan @15:45"


@pytest.mark.parametrize(
    "text",
    ["is the AC on?", "what's the temperature?", "are the kitchen lights on", "空调开着吗？", "卧室现在多少度",
     "厨房的灯关了没有？", "did I leave the coffee machine on"],
)
def test_questions(text):
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    ["turn on the AC", "can you turn on the light?", "could you close the curtains", "能帮我开灯吗",
     "请打开空调", "打开空调好吗", "客厅太干了"],
)
def test_requests_are_not_questions(text):
    assert not is_question(text)


def test_mentions_narrow_the_targets(registry):
    def ids(text):
        return {t.id for t in candidate_targets(registry, find_mentions(registry, text))}

    assert ids("卧室空调调到25度") == {"bedroom_ac"}
    assert ids("turn off the kitchen light and start the fan") == {
        "kitchen_light", "kitchen_counter_light", "kitchen_lights", "kitchen_fan"}
    assert ids("客厅太干了") == {"living_room_humidifier"}
    assert "all_lights" in ids("turn off all the lights")
    assert ids("I'm going out, turn everything off") == {"everything"}
    assert ids("tell me a joke") == {t.id for t in registry.targets}
    assert find_mentions(registry, "turn on the garage light").unknown_rooms == {"garage"}


def test_a_device_named_alone_is_the_only_candidate(registry):
    def ids(text):
        return {t.id for t in candidate_targets(registry, find_mentions(registry, text))}

    assert ids("把落地灯关了") == {"living_room_lamp"}
    assert ids("开排风扇") == {"kitchen_fan"}  # the longer alias wins over the other fan's "风扇"
    assert "living_room_lights" in ids("客厅的灯全部打开")  # a quantifier asks for the group


def test_direction_words():
    from edgebrain.understand.words.vocabulary import asks_for_direction

    assert asks_for_direction("turn up the bedroom fan") and asks_for_direction("客厅灯调亮一点")
    assert not asks_for_direction("shut down everything in the bedroom")
    assert not asks_for_direction("turn on the fan")


def test_named_actions_narrow_the_choice():
    from edgebrain.understand.words.vocabulary import asked_actions

    assert asked_actions("switch the humidifier off") == {"off", "set"}
    assert asked_actions("把空调都打开") == {"on", "open", "set"}
    assert asked_actions("风扇风小一点") == {"decrease", "set"}
    # The longer word wins: "shut down" is off, not the "shut" of close; "light up" is on, not up.
    assert asked_actions("shut down everything in the bedroom") == {"off", "set"}
    assert asked_actions("light up the hallway") == {"on", "set"}
    assert asked_actions("it's too dark in here") is None  # no action named: the model decides
    # A value (a set word or a unit) with a number makes a one-command request a set, and only a set.
    assert asked_actions("dim the bedroom light to 20 percent") == {"decrease", "set"}
    assert asked_actions("dim the bedroom light to 20 percent", one_value=True) == {"set"}
    assert asked_actions("卧室空调调到24度", one_value=True) == {"set"}
    assert asked_actions("turn the humidifier up to 60", one_value=True) == {"set"}
    assert asked_actions("turn on the fan", one_value=True) == {"on", "set"}
    # 开/关 alone ask for an action where a request starts, not inside other words.
    assert asked_actions("开厨房灯") == asked_actions("@20:00 开空调") == {"on", "open", "set"}
    assert asked_actions("请关窗帘") == {"off", "close", "set"}
    assert asked_actions("关于空调") is None and asked_actions("开关") is None


def test_complaints_keep_the_actions_that_answer_them(registry):
    from edgebrain.understand.words.vocabulary import complaint_actions

    # In the schema's order: the first answers a complaint that names no action.
    assert complaint_actions(registry, "it's too dark in the living room") == {"light": ("on", "increase", "set")}
    assert complaint_actions(registry, "卧室的灯太亮了") == {"light": ("decrease", "set")}
    assert complaint_actions(registry, "客厅太潮湿了") == {"humidifier": ("off", "decrease", "set")}
    assert complaint_actions(registry, "关掉抽油烟机") == {}  # 油烟 is inside the range hood's own name


def _clauses(registry, text):
    from edgebrain.understand.words.clauses import split_clauses

    clauses = split_clauses(registry, text)
    return None if clauses is None else [c.text for c in clauses]


def test_clauses_stand_alone_or_join_a_neighbour(registry):
    assert _clauses(registry, "关掉客厅灯，打开落地灯") == ["关掉客厅灯", "打开落地灯"]
    assert _clauses(registry, "turn on the bedroom light") is None  # one clause: nothing to split
    # Words that name nothing of the registry and no action belong to the clause before (or after).
    assert _clauses(registry, "open the curtains halfway, 50 percent") == ["open the curtains halfway 50 percent"]
    assert _clauses(registry, "厨房太暗了，看不清") == ["厨房太暗了 看不清"]
    assert _clauses(registry, "please, turn on the fan") == ["please turn on the fan"]
    assert _clauses(registry, "switch on every light in the house") is None
    # A complaint next to a request about the same device is answered by the request.
    assert _clauses(registry, "the living room is too dry, turn the humidifier up") == [
        "the living room is too dry turn the humidifier up"]
    assert _clauses(registry, "the bedroom is too hot, and turn off the kitchen light") == [
        "the bedroom is too hot", "turn off the kitchen light"]
    # A rooms the home lacks, or an action with nothing before it to act on, keeps the whole request.
    assert _clauses(registry, "turn on the garage light and the fan") is None
    assert _clauses(registry, "turn it off, then the fan") is None


def test_an_action_without_a_device_acts_on_the_clause_before(registry):
    from edgebrain.understand.words.clauses import split_clauses

    clauses = split_clauses(registry, "turn on the bedroom light now and turn it off @23:00")
    assert clauses is not None and [c.text for c in clauses] == ["turn on the bedroom light now",
                                                                 "turn it off @23:00"]
    assert clauses[1].mentions == clauses[0].mentions and "bedroom_light" in clauses[1].mentions.exact


def test_a_room_complaint_is_about_the_whole_room(registry):
    from edgebrain.understand.words.mentions import find_mentions, widest

    mentions = find_mentions(registry, "it's too dark in the living room")
    assert mentions.cued and mentions.types == {"light"} and mentions.rooms == {"living room"}
    cue_only = find_mentions(registry, "看不清")
    assert cue_only.cued and cue_only.types == {"light"} and not cue_only.named
    assert find_mentions(registry, "turn on the lights").named
    targets = [registry.target(t) for t in ("living_room_light", "living_room_lamp", "living_room_lights")]
    assert [t.id for t in widest(targets)] == ["living_room_lights"]
    assert [t.id for t in widest(targets[:2])] == ["living_room_light", "living_room_lamp"]


def test_negations():
    from edgebrain.understand.words.questions import is_negated

    for text in ("don't turn on the light", "do not open the curtains", "never mind", "不要开空调", "别关灯",
                 "请别开灯", "it's not too dark"):
        assert is_negated(text), text
    for text in ("turn on the light", "don't forget to turn off the light", "别忘了关灯", "客厅特别暗", "区别不大吧",
                 "it's not bright enough"):
        assert not is_negated(text), text
