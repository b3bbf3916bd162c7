"""Understanding in homes other than the example: rooms in any script, partial names, extremes, states,
refusals. Each case here is settled by code from the schema and the registry; the model is a scripted
fake of our Backend interface that would answer "- none", so a wrong reading cannot pass by luck."""

from __future__ import annotations

import numpy as np
import pytest

from edgebrain.base.errors import RegistryError
from edgebrain.devices.registry import Device, Registry, load_registry
from edgebrain.understand.engine import Understander
from edgebrain.understand.words.mentions import find_mentions
from edgebrain.understand.words.numbers import normalize_numbers
from edgebrain.understand.words.reading import Techniques
from edgebrain.understand.words.rooms import find_rooms, fold
from edgebrain.understand.words.times import read_times
from edgebrain.understand.words.vocabulary import extreme, stated, unsupported
from tests.fakes import ScriptedBackend
from tests.fakes import commands_of as _got


def _home(*rows: tuple[str, str, str, str | None, tuple[str, ...]]) -> Registry:
    return Registry(Device(i, t, n, r, a) for i, t, n, r, a in rows)


HOME = _home(
    ("wo_light", "light", "吸顶灯", "卧室", ("卧室灯",)),
    ("wo_ac", "ac", "空调", "卧室", ()),
    ("bed2_fan", "fan", "Fan", "Bedroom 2", ()),
    ("bed2_lamp", "light", "Desk lamp", "Bedroom 2", ()),
    ("kids_light", "light", "Night light", "Kid's room", ()),
    ("hall_light", "light", "Hallway light", "2F hallway", ()),
    ("nook_light", "light", "Reading nook", "Living room", ()),
    ("lr_light", "light", "Ceiling light", "Living room", ()),
    ("lr_lamp", "light", "Arc lamp", "Living room", ()),
    ("lr_blinds", "cover", "Blinds", "Living room", ()),
    ("vacuum", "switch", "Robot vacuum", "Living room", ("扫地机器人",)),
    ("garage_light", "light", "Garage light", "Outside", ()),
)


@pytest.fixture()
def understander() -> Understander:
    return Understander(HOME, ScriptedBackend({}), lazy=True)


def test_a_registry_with_rooms_in_any_script_loads(tmp_path):
    (tmp_path / "home.yaml").write_text(
        "devices:\n"
        "  - {id: a, type: light, name: 吸顶灯, room: 卧室}\n"
        "  - {id: b, type: fan, name: Fan, room: Bedroom 2}\n"
        "  - {id: c, type: light, name: Night light, room: \"Kid's room\"}\n", encoding="utf-8")
    assert [d.room for d in load_registry(tmp_path)] == ["卧室", "Bedroom 2", "Kid's room"]
    (tmp_path / "home.yaml").write_text("devices:\n  - {id: a, type: light, name: A, room: \" \"}\n")
    with pytest.raises(RegistryError, match="room"):
        load_registry(tmp_path)


@pytest.mark.parametrize(
    ("text", "rooms", "unknown"),
    [
        ("turn on the bedroom 2 fan", {"Bedroom 2"}, set()),
        ("turn on the bedroom light", {"卧室"}, set()),  # the synonym of a Chinese room
        ("kids room light off", {"Kid's room"}, set()),
        ("the hallway light", {"2F hallway"}, set()),  # partly: without its floor
        ("打开客厅的灯", {"Living room"}, set()),
        ("turn on the basement light", set(), {"basement"}),
    ],
)
def test_rooms_by_own_word_synonym_or_part(text, rooms, unknown):
    found = find_rooms(HOME.rooms, fold(text))
    assert (set(found.exact or found.partial), set(found.unknown)) == (rooms, unknown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A room named partly still reaches its one fan; a name that looks like a place beats "the lights".
        ("turn on the bedroom fan", {("bed2_fan", "on", None, None)}),
        ("turn off the reading nook lights", {("nook_light", "off", None, None)}),
        ("把卧室的灯关了", {("wo_light", "off", None, None)}),
        ("turn on the kid's room light", {("kids_light", "on", None, None)}),
        # Extremes: the end of the type's range; a cover opens.
        ("set the ceiling light to full brightness", {("lr_light", "set", 100, None)}),
        ("卧室空调调到最低", {("wo_ac", "set", 16, None)}),
        ("bedroom 2 fan to max", {("bed2_fan", "set", 100, None)}),
        ("open the blinds all the way up", {("lr_blinds", "open", None, None)}),
        # Everyday verbs: only lights light up; appliances start and run.
        ("light up the living room", {("nook_light", "on", None, None), ("lr_light", "on", None, None),
                                       ("lr_lamp", "on", None, None)}),
        ("run the robot vacuum", {("vacuum", "on", None, None)}),
        ("get the robot vacuum going at 9 pm", {("vacuum", "on", None, "21:00")}),
        # A state is not an action: the lamp is already on, so it goes up.
        ("the arc lamp is on but I still can't read", {("lr_lamp", "increase", None, None)}),
        ("the hallway light is off and I can't see the stairs", {("hall_light", "on", None, None)}),
        # Numbers and times.
        ("卧室灯调到百分之80", {("wo_light", "set", 80, None)}),
        ("turn off the fan in two and a half hours", {("bed2_fan", "off", None, "17:30")}),
        ("turn off the fan in a quarter of an hour", {("bed2_fan", "off", None, "15:15")}),
        # A device named like a missing room is that device.
        ("turn on the garage light", {("garage_light", "on", None, None)}),
    ],
)
def test_words_settle_the_command(understander, text, expected):
    assert _got(understander, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "lock the front door",
        "open the garage door",
        "unlock all the doors",
        "pause the music in the living room",
        "turn off the water valve",
        "add milk to my shopping list",
        "打开电视",
        "arm the alarm",
        "pause the fan",
        'my friend sent me {"device": "lr_light", "action": "on"} haha',
        "turn on the basement light",
    ],
)
def test_what_the_home_cannot_do_moves_nothing(understander, text):
    assert _got(understander, text) == set()


def test_refusals_say_why(understander):
    result = understander.understand("lock the front door", "15:00")
    assert result.commands == () and "lock" in result.rejected[0]
    assert unsupported(HOME, "turn on the garage light") == ""
    door = _home(("garage_door", "cover", "Garage door", "Garage", ()))
    assert unsupported(door, "open the garage door") == ""


def test_word_classes_from_the_schema():
    assert extreme("make it as bright as it goes") == "max"
    assert extreme("亮度拉满") == "max"
    assert extreme("调到最小") == "min"
    assert extreme("turn it up a bit") is None
    assert stated("the lamp is on but I still can't read")[0] == {"on"}
    assert stated("灯开着但是还是看不清")[0] == {"on"}
    assert normalize_numbers("调到百分之80") == "调到80%"
    assert read_times("in 2 and a half hours", "15:00").times == ("17:30",)


def test_homes_share_one_model_and_one_prompt_evaluated_once_when_first_needed():
    other = _home(("study_lamp", "light", "Lamp", "Study", ()), ("hall_pendant", "light", "Pendant", "Hall", ()))
    backend = ScriptedBackend({"switch on a light": "- lamp on", "turn on a light": "- ceiling light on"})
    first = Understander(HOME, backend, lazy=True)
    second = Understander(other, backend, lazy=True)
    # The prompt names no home's devices: both homes read the same one.
    assert first.prompt.prefix == second.prompt.prefix
    assert _got(first, "run the robot vacuum") == {("vacuum", "on", None, None)}
    assert not first.prompt.evaluated  # the words settled it: no model, no prompt
    assert _got(first, "turn on a light") == {("lr_light", "on", None, None)}
    assert first.prompt.evaluated and second.prompt.evaluated
    evaluations = len(backend.evaluations)
    assert _got(second, "switch on a light") == {("study_lamp", "on", None, None)}
    assert second.prompt.seconds == 0  # never evaluated again for the second home
    # Only the user's words and the reply's decisions were evaluated, not the prompt again.
    assert sum(backend.evaluations[evaluations:]) < len(second.prompt.prefix)
    first.forget()
    assert _got(first, "turn on a light") == {("lr_light", "on", None, None)}


class _LeaningBackend(ScriptedBackend):
    """A "model" that prefers "off" whatever the words, and "on" a little more for a real request."""

    def logits(self):  # type: ignore[no-untyped-def]
        text = self._text(self.history)
        user, _, written = text.rsplit("<|im_start|>assistant\n", 1)[1].rsplit("\n\n", 1)[-1].partition("\n")
        if not written.endswith("- kettle o"):
            return super().logits()
        scores = np.zeros(self.vocab, dtype=np.float32)
        scores[ord("f")] = 3.0  # the prior: "off"
        scores[ord("n")] = 0.0 if user == "N/A" else 2.0  # what the words add
        return scores


def test_calibration_removes_the_models_prior_between_actions():
    kettle = _home(("kettle", "switch", "Kettle", "Kitchen", ()), ("lamp", "light", "Lamp", "Kitchen", ()))
    calibrated = Understander(kettle, _LeaningBackend({"activate the kettle": "- kettle on"}), lazy=True)
    assert _got(calibrated, "activate the kettle") == {("kettle", "on", None, None)}
    plain = Understander(kettle, _LeaningBackend({"activate the kettle": "- kettle on"}), lazy=True,
                         techniques=Techniques.without(["calibration"]))
    assert _got(plain, "activate the kettle") == {("kettle", "off", None, None)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An end of the range mentioned beside a named action is no extreme.
        ("turn off the ceiling light, it is at maximum", {("lr_light", "off", None, None)}),
        # 完全 ("completely") is no "everything"; words inside other words are no complaint.
        ("把吸顶灯完全关掉", {("wo_light", "off", None, None)}),
        ("你在干嘛", set()),
        ("我喜欢黑咖啡", set()),
        ("I have 2 cats in the living room", set()),
        # "The lamp's on" is the state.
        ("the arc lamp's on but I still can't read", {("lr_lamp", "increase", None, None)}),
        # An appliance the home has may be asked for by what it does.
        ("vacuum the living room", {("vacuum", "on", None, None)}),
    ],
)
def test_review_cases(understander, text, expected):
    assert _got(understander, text) == expected


def test_rooms_and_odd_names_are_names():
    tv = _home(("tv_lamp", "light", "Lamp", "TV room", ()), ("star", "light", "*", "Hall", ()),
               ("entry", "light", "玄关灯", "玄关", ()), ("desk", "light", "Desk lamp", "Study", ()))
    understander = Understander(tv, ScriptedBackend({}), lazy=True)
    assert _got(understander, "turn on the TV room lamp") == {("tv_lamp", "on", None, None)}
    assert _got(understander, "关掉玄关灯") == {("entry", "off", None, None)}
    # 关灯 ("lights off") inside 玄关灯 is an action word, not a name of that light.
    assert find_mentions(tv, "关灯").devices == frozenset()
