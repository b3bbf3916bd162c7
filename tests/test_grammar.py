"""The reply language comes from the registry and the schema; llama.cpp's own parser accepts its GBNF."""

from __future__ import annotations

import re

import llama_cpp

from edgebrain.understand.model.grammar import (
    MAX_LINES,
    NONE_TEXT,
    command_lines,
    numbers_in,
    target_phrases,
    to_gbnf,
)


def test_phrases_map_names_and_aliases_to_targets(registry):
    phrases = target_phrases(registry)
    assert phrases["加湿器"] == "living_room_humidifier"
    assert phrases["kitchen lights"] == "kitchen_lights"
    assert phrases["空调"] == "all_acs"
    assert phrases["living room AC"] == phrases["living room ac"] == "living_room_ac"
    assert phrases["风扇"] == "bedroom_fan"  # an alias of one device beats the type word
    assert set(phrases.values()) <= {t.id for t in registry.targets}


def test_lines_follow_the_schema_actions_and_ranges(registry):
    phrases = target_phrases(registry)
    lines = command_lines(registry.targets, phrases, values=(24, 55, 150))
    by_target: dict[str, set[tuple[str, int | None]]] = {}
    for line in lines:
        by_target.setdefault(line.target, set()).add((line.action, line.value))
    assert by_target["bedroom_ac"] == {("on", None), ("off", None), ("increase", None), ("decrease", None),
                                       ("set", 24)}
    assert ("set", 55) in by_target["living_room_humidifier"] and ("set", 24) not in by_target[
        "living_room_humidifier"]
    assert all(action in ("on", "off", "toggle") for action, _ in by_target["kitchen_plug"])
    assert not any(value == 150 for line in lines for value in [line.value])
    assert all(line.text.startswith("- ") for line in lines)


def test_numbers_in_skips_time_markers():
    assert numbers_in("set the ac to 24 @20:30") == (24,)
    assert numbers_in("turn on the light") == ()


def _compiles(model: llama_cpp.Llama, grammar: str) -> bool:
    """Whether llama.cpp's grammar sampler accepts ``grammar`` over the model's real vocabulary."""
    sampler = llama_cpp.llama_sampler_init_grammar(llama_cpp.llama_model_get_vocab(model._model.model),
                                                   grammar.encode(), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def test_gbnf_compiles_against_the_real_vocabulary(registry, model_path):
    lines = command_lines(registry.targets, target_phrases(registry), values=(24,))
    grammar = to_gbnf(lines, times=("20:00", "07:30"))
    assert grammar.startswith(f'root ::= "{NONE_TEXT}" | line')
    assert '"- 卧室空调 set 24"' in grammar and '" @"' in grammar
    vocab = llama_cpp.Llama(str(model_path), vocab_only=True, verbose=False)
    assert _compiles(vocab, grammar)
    # The check can fail: llama.cpp's parser refuses a grammar with a rule cut short.
    assert not _compiles(vocab, grammar.replace(" | line", " | (line", 1))


def test_gbnf_constrains_a_real_generation_to_the_reply_language(registry, model_path):
    plug = registry.target("kitchen_plug")
    lines = command_lines([plug], {"咖啡机": plug.id}, values=())
    grammar = to_gbnf(lines, times=("20:00",))
    model = llama_cpp.Llama(str(model_path), n_ctx=256, verbose=False)
    # Asked for free text, the model may only answer in the grammar's words.
    reply = model.create_completion("Write a short poem about coffee:\n", max_tokens=200, temperature=0,
                                    grammar=llama_cpp.LlamaGrammar.from_string(grammar, verbose=False))
    text = reply["choices"][0]["text"]
    line = "- 咖啡机 (?:on|off|toggle)(?: @20:00)?"
    assert re.fullmatch(f"{re.escape(NONE_TEXT)}|{line}(?:\n{line}){{0,{MAX_LINES - 1}}}", text), text
    assert reply["choices"][0]["finish_reason"] == "stop"  # the grammar's own end, not the token limit


def test_plain_baseline_reply_schema_is_the_command_schema():
    import jsonschema

    from edgebrain.understand.plain import reply_schema

    schema = reply_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"commands": [{"device": "bedroom_ac", "action": "set", "value": 24}]})
    assert not validator.is_valid({"commands": [{"device": "bedroom_ac", "action": "set"}]})
    assert not validator.is_valid({"commands": [{"device": "Bedroom AC", "action": "on"}]})


def test_complaint_and_named_actions_narrow_the_lines(registry):
    lights = [registry.target("bedroom_light")]
    phrases = {"bedroom light": "bedroom_light"}
    answers = {"light": ("on", "increase", "set")}
    lines = command_lines(lights, phrases, values=(), answers=answers)
    assert {line.action for line in lines} == {"on", "increase"}
    lines = command_lines(lights, phrases, values=(40,), asked=frozenset({"off", "set"}))
    assert {(line.action, line.value) for line in lines} == {("off", None), ("set", 40)}
    # Nothing left would leave the target mute; the narrowing is dropped instead.
    lines = command_lines([registry.target("living_room_curtains")], {"curtains": "living_room_curtains"},
                          values=(), asked=frozenset({"on"}))
    assert {line.action for line in lines} == {"open", "close"}
    # Set asked for with no number that fits leaves no set line, so the other actions stay.
    # (Toggle, like set, is offered only when the words ask for it.)
    lines = command_lines(lights, phrases, values=(250,), asked=frozenset({"set"}))
    assert {line.action for line in lines} == {"on", "off", "increase", "decrease"}
    lines = command_lines(lights, phrases, values=(), asked=frozenset({"toggle", "set"}))
    assert {line.action for line in lines} == {"toggle"}
