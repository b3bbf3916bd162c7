"""The plain approach, kept as the benchmark's baseline: one create_chat_completion call with the
registry in the prompt and the command schema as llama.cpp's JSON response format."""

from __future__ import annotations

import json
import time
from typing import Any

from edgebrain.base.errors import CommandError
from edgebrain.base.schemas import load_schema, type_actions
from edgebrain.devices.command import Command, check
from edgebrain.devices.registry import Registry


def describe_with_ids(registry: Registry) -> str:
    """The registry by id, as the plain approach needs it to write ids."""
    lines = ["Devices (id: name; type; room; aliases; actions):"]
    for d in registry:
        lines.append(f"{d.id}: {d.name}; {d.type}; {d.room or '-'}; {', '.join(d.aliases) or '-'}; "
                     f"{' '.join(type_actions(d.type))}")
    return "\n".join(lines)

MAX_TOKENS = 256


def reply_schema() -> dict[str, Any]:
    """``{"commands": [<command>, ...]}`` with the command schema for the items."""
    command = {k: v for k, v in load_schema("command").items() if not k.startswith("$")}
    return {"type": "object", "required": ["commands"], "additionalProperties": False,
            "properties": {"commands": {"type": "array", "items": command}}}


def _lenient(item: dict[str, Any], now: str) -> dict[str, Any]:
    """Forgive what llama.cpp's schema grammar cannot forbid, so the baseline is not a straw man.

    The grammar ignores the schema's if/then/else, so the model writes ``"value": 0`` for "on"; and it
    writes the current time for "now". Both are read as the model meant them before the check.
    """
    item = {k: v for k, v in item.items() if v is not None and v != ""}
    if item.get("action") != "set":
        item.pop("value", None)
    if item.get("time") == now:
        item.pop("time")
    return item


class PlainParser:
    """Utterance to commands the plain way, on a llama_cpp.Llama instance."""

    def __init__(self, llama: Any, registry: Registry):
        self.llama = llama
        self.registry = registry
        self.schema = reply_schema()
        self.system = (
            "You control a smart home. Turn the user's request into device commands as JSON "
            '{"commands": [{"device": <id>, "action": <action>, "value": <number for set>, "time": "HH:MM"}]}. '
            "Use an empty list for questions, chit-chat and devices that are not listed. "
            "Resolve relative times against the current time.\n\n" + describe_with_ids(self.registry)
        )

    def parse(self, text: str, now: str) -> tuple[tuple[Command, ...], float, int]:
        """Commands, milliseconds and prompt+completion tokens for one utterance."""
        started = time.perf_counter()
        response = self.llama.create_chat_completion(
            messages=[{"role": "system", "content": f"{self.system}\nThe time now is {now}."},
                      {"role": "user", "content": text}],
            response_format={"type": "json_object", "schema": self.schema},
            temperature=0.0, max_tokens=MAX_TOKENS,
        )
        elapsed = (time.perf_counter() - started) * 1000
        usage = response.get("usage", {})
        commands: list[Command] = []
        try:
            data = json.loads(response["choices"][0]["message"]["content"] or "{}")
            for item in data.get("commands", []):
                if isinstance(item, dict):
                    item = _lenient(item, now)
                commands.append(check(item, self.registry))
        except (ValueError, CommandError, AttributeError):
            commands = []  # an unparsable or unchecked answer moves nothing
        return tuple(commands), elapsed, int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
