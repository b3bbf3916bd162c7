"""The random-home generator (tests/homes.py): deterministic, valid registries, valid labels, every category."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.homes import ACTIONS, CATEGORIES, RANGES, Home, check_home, generate_home, generate_homes, main

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "devices.schema.json").read_text())
ZH = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def homes() -> list[Home]:
    return generate_homes(50)


def test_same_seed_same_home() -> None:
    for seed in (0, 7, 123, 9999):
        assert generate_home(seed) == generate_home(seed)
    assert generate_homes(5, seed=3) == [generate_home(s) for s in range(3, 8)]
    assert len({json.dumps(generate_home(s).devices, ensure_ascii=False) for s in range(20)}) == 20


def test_registries_match_the_schema(homes: list[Home]) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for home in homes:
        validator.validate({"devices": list(home.devices)})
        ids = [d["id"] for d in home.devices]
        assert len(ids) == len(set(ids)) and 1 <= len(ids) <= 30
        for d in home.devices:
            aliases = d.get("aliases", [])
            assert isinstance(aliases, list) and len(aliases) == len(set(aliases))


def test_registries_vary(homes: list[Home]) -> None:
    rooms = {str(d["room"]) for h in homes for d in h.devices if "room" in d}
    assert any(ZH.search(r) for r in rooms) and any(r.isascii() for r in rooms)
    assert any(re.search(r"\d", r) for r in rooms) and any("'" in r for r in rooms)
    assert any(len(h.devices) == 1 for h in homes) and any(len(h.devices) >= 15 for h in homes)
    assert any(len({d["name"] for d in h.devices}) < len(h.devices) for h in homes)  # a shared name
    names = {str(d["name"]).lower() for h in homes for d in h.devices if d["type"] == "switch"}
    assert names & {"robot vacuum", "roomba", "扫地机器人", "coffee machine", "咖啡机", "kettle", "电水壶"}


def test_every_expected_command_is_valid_for_its_registry(homes: list[Home]) -> None:
    for home in homes:
        assert check_home(home) == []
        types = {d["id"]: str(d["type"]) for d in home.devices}
        for case in home.cases:
            assert case.category in CATEGORIES and case.text.strip() and re.fullmatch(r"\d\d:\d\d", case.now)
            for c in case.commands:
                t = types[c["device"]]
                assert c["action"] in ACTIONS[t] and set(c) <= {"device", "action", "value", "time"}
                if c["action"] == "set":
                    lo, hi = RANGES[t]
                    assert isinstance(c["value"], int) and lo <= c["value"] <= hi
                else:
                    assert "value" not in c
                if "time" in c:
                    assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(c["time"])) and c["time"] != case.now
            assert len({json.dumps(c, sort_keys=True) for c in case.commands}) == len(case.commands)


def test_all_categories_with_plausible_counts(homes: list[Home]) -> None:
    cases = [c for h in homes for c in h.cases]
    counts = Counter(c.category for c in cases)
    assert set(counts) == set(CATEGORIES)
    assert all(counts[cat] >= len(cases) // 16 for cat in CATEGORIES), counts
    assert all(len(h.cases) == 24 for h in homes)
    assert all(not c.commands for c in cases if c.category == "refusals")
    for cat in CATEGORIES:
        texts = [c.text for c in cases if c.category == cat]
        assert any(ZH.search(t) for t in texts) and any(not ZH.search(t) for t in texts), cat
        if cat != "refusals":
            assert sum(bool(c.commands) for c in cases if c.category == cat) > len(texts) * 0.7, cat
    assert any("time" in cmd for c in cases for cmd in c.commands)
    assert {cmd["action"] for c in cases for cmd in c.commands} == {a for acts in ACTIONS.values() for a in acts}


def test_write_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = generate_home(11)
    home.write(tmp_path / "h")
    assert yaml.safe_load((tmp_path / "h" / "devices.yaml").read_text("utf-8")) == {"devices": list(home.devices)}
    lines = (tmp_path / "h" / "cases.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"category": c.category, "text": c.text, "now": c.now, "commands": list(c.commands)} for c in home.cases]
    assert main(["--count", "3", "--seed", "5", "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["home-5", "home-6", "home-7"]
    assert "self-check: ok" in capsys.readouterr().out
