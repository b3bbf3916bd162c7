"""Hostile input, fuzzed with hypothesis: every message, utterance and registry file gets a clear error
or a checked answer; nothing crashes and nothing unchecked is routed."""

from __future__ import annotations

import functools
import json
import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebrain.base.errors import EdgebrainError, InputError, RegistryError
from edgebrain.core.messages import RequestError, parse_text_message
from edgebrain.devices.registry import load_registry
from edgebrain.transports.hermes import parse_hermes_query
from edgebrain.understand.engine import Understander
from tests.fakes import RandomBackend

CODES = {"empty", "not_utf8", "binary", "too_large", "bad_json", "bad_request"}
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=4), max_leaves=20)


def _parse_any(payload: bytes) -> None:
    for parse in (parse_text_message, parse_hermes_query):
        try:
            request = parse(payload, 4096)
        except RequestError as exc:
            assert exc.code in CODES and str(exc)
        else:
            assert request.text.strip() and len(payload) <= 4096


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(payload):
    _parse_any(payload)


@settings(max_examples=2000, deadline=None)
@given(json_values)
def test_random_json(value):
    _parse_any(json.dumps(value).encode())
    _parse_any(json.dumps({"text": value, "id": value}).encode())
    _parse_any(json.dumps({"input": value, "siteId": value, "sessionId": value}).encode())


def test_oversized_and_deeply_nested_payloads():
    for payload in (b"x" * (1 << 20), b"[" * 100000 + b"]" * 100000, b'{"text":' * 50000,
                    ("{" + '"a":' * 3000 + "1" + "}" * 3000).encode()):
        _parse_any(payload)
    nested = json.dumps({"text": "hi", "id": "x"}).encode()
    assert parse_text_message(nested, 4096).id == "x"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=700))
def test_random_utterances_get_a_clear_error_or_checked_commands(registry, text):
    understander = _understander(registry)
    try:
        result = understander.understand(text, "12:00")
    except InputError as exc:
        assert str(exc)
        return
    for command in result.commands:
        assert _registry_valid(command, registry), command


def _registry_valid(command, registry) -> bool:  # type: ignore[no-untyped-def]
    """The registry's own terms, read here rather than by check(), which the engine already applied."""
    device = registry.get(command.device)
    if device is None or command.action not in device.actions:
        return False
    if command.time is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", command.time):
        return False
    if command.action != "set":
        return command.value is None
    low, high = device.value_range
    return command.value is not None and low <= command.value <= high


@functools.cache
def _understander(registry):  # one per session: building the prompt is the slow part
    # Random scores: whatever the grammar lets through is written, so the check of every reply is tried.
    return Understander(registry, RandomBackend(seed=7))


def test_the_random_backend_writes_commands(registry):
    understander = _understander(registry)
    written = [understander.understand(text, "12:00").commands
               for text in ("turn on the light", "set the AC to 22", "把灯关了", "open the curtains")]
    assert sum(len(c) for c in written) >= 3  # the fuzzing above reaches the command check, not only "none"


registry_items = st.dictionaries(
    st.sampled_from(["id", "type", "name", "room", "aliases", "mqtt", "gpio", "extra"]),
    json_values | st.sampled_from(["light", "Bad Id", "", "x" * 200, {"topic": "a/#"}, {"pin": 99}, ["a", "a"]]),
    max_size=7)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.lists(registry_items, max_size=4).map(lambda d: {"devices": d}), json_values))
def test_registry_files_with_every_kind_of_mistake(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("devices")
    (folder / "home.yaml").write_text(yaml.safe_dump(content, allow_unicode=True))
    try:
        registry = load_registry(folder)
    except RegistryError as exc:
        assert str(exc).startswith(str(folder)) or "home.yaml" in str(exc)
        return
    assert len(registry) == len(content["devices"])  # only a fully valid file loads


def test_registry_text_that_is_not_yaml(tmp_path):
    for text in ("devices: [", "\x00\x01", "- - -\n  : :", "devices: !!python/object:os.system x"):
        (tmp_path / "home.yaml").write_text(text)
        try:
            load_registry(tmp_path)
        except EdgebrainError as exc:
            assert "home.yaml" in str(exc)
        else:
            raise AssertionError(f"{text!r} loaded")
