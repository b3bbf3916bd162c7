"""The CLI contract, end to end with the real model through llama.cpp."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from edgebrain.models.manifest import load_manifest

pytestmark = pytest.mark.model

EDGEBRAIN = [sys.executable, "-m", "edgebrain"]


def run(args, env, stdin=None):
    return subprocess.run(EDGEBRAIN + args, input=stdin, capture_output=True, env=env, timeout=300, check=False)


def test_parse_english(cli_env):
    result = run(["parse", "--now", "15:00", "turn off the bedroom fan in 45 minutes"], cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "text": "turn off the bedroom fan in 45 minutes",
        "commands": [{"device": "bedroom_fan", "action": "off", "time": "15:45"}],
    }


def test_parse_chinese_group_and_time(cli_env):
    result = run(["parse", "--now", "15:00", "晚上八点开空调"], cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["commands"] == [
        {"device": "living_room_ac", "action": "on", "time": "20:00"},
        {"device": "bedroom_ac", "action": "on", "time": "20:00"},
    ]


def test_parse_with_a_session_reads_the_lines_as_one_conversation(cli_env):
    lines = "turn on the kitchen light\nturn it off\nand the bedroom\nis it on?\n"
    done = subprocess.run([*EDGEBRAIN, "parse", "--now", "15:00", "--session", "s", "-"], input=lines.encode(),
                          capture_output=True, env=cli_env, timeout=300, check=True)
    first, second, third, fourth = (json.loads(line) for line in done.stdout.decode().splitlines())
    assert first["commands"] == [{"device": "kitchen_light", "action": "on"}]
    assert second["commands"] == [{"device": "kitchen_light", "action": "off"}]
    assert third["commands"] == [{"device": "bedroom_light", "action": "off"}]
    assert (fourth["commands"], fourth["question"]) == ([], {"shape": "one", "state": "on",
                                                             "devices": ["bedroom_light"]})
    alone = subprocess.run([*EDGEBRAIN, "parse", "--now", "15:00", "-"], input=b"turn it off\n",
                           capture_output=True, env=cli_env, timeout=300, check=True)
    assert json.loads(alone.stdout) == {"text": "turn it off", "commands": [], "clarify": []}  # which device?


def test_parse_with_a_site_reads_the_room_it_is_said_in(cli_env):
    result = run(["parse", "--now", "15:00", "--site", "bedroom", "turn on the light"], cli_env)
    assert json.loads(result.stdout)["commands"] == [{"device": "bedroom_light", "action": "on"}]


def test_parse_stdin_streams_one_flushed_line_per_utterance(cli_env):
    process = subprocess.Popen([*EDGEBRAIN, "parse", "--now", "15:00", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env)
    assert process.stdin and process.stdout
    try:
        # Each answer must arrive before the next line is written: the output is flushed per line.
        process.stdin.write(b"turn on the kitchen lights\n")
        process.stdin.flush()
        first = json.loads(process.stdout.readline())
        assert first["text"] == "turn on the kitchen lights"
        assert {c["device"] for c in first["commands"]} == {"kitchen_light", "kitchen_counter_light"}
        process.stdin.write(b"\xff\xfe broken\n\n" + b"x" * 600 + b"\n" + "卧室空调调到二十五度\n".encode())
        process.stdin.close()
        rest = [json.loads(line) for line in process.stdout.read().splitlines()]
    finally:
        process.wait(timeout=60)
    assert process.returncode == 0
    assert [r.get("error", "") != "" for r in rest] == [True, True, True, False]
    assert "not UTF-8" in rest[0]["error"] and "empty" in rest[1]["error"] and "limit" in rest[2]["error"]
    assert all(r["commands"] == [] for r in rest[:3])
    assert rest[3]["commands"] == [{"device": "bedroom_ac", "action": "set", "value": 25}]


def test_questions_and_unknown_devices_give_no_commands(cli_env):
    result = run(["parse", "-"], cli_env, stdin="is the living room AC on?\nturn on the garage light\n你好\n".encode())
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["commands"] for line in result.stdout.splitlines()] == [[], [], []]


def test_a_value_out_of_range_is_explained(cli_env):
    result = run(["parse", "--now", "15:00", "set the bedroom AC to 99 degrees"], cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"text": "set the bedroom AC to 99 degrees", "commands": [],
                                         "errors": ["the value 99 is out of range: bedroom_ac takes 16-30"]}


def test_bad_registry_exits_2_with_a_message(cli_env, tmp_path):
    (tmp_path / "x.yaml").write_text("devices:\n  - {id: x, type: toaster, name: X}\n")
    result = run(["parse", "--devices", str(tmp_path), "turn on x"], cli_env)
    assert result.returncode == 2
    assert b"x.yaml" in result.stderr and b"toaster" in result.stderr and result.stdout == b""


def test_missing_model_exits_2_with_a_message(cli_env, tmp_path):
    env = dict(cli_env, EDGEBRAIN_HOME=str(tmp_path))
    env.pop("EDGEBRAIN_MODEL")
    result = run(["parse", "turn on the light"], env)
    assert result.returncode == 2
    assert b"edgebrain model fetch" in result.stderr


def test_bad_now_is_a_usage_error(cli_env):
    result = run(["parse", "--now", "25:99", "x"], cli_env)
    assert result.returncode == 2 and b"HH:MM" in result.stderr


def test_run_reads_lines_and_prints_commands(cli_env, tmp_path):
    env = dict(cli_env, EDGEBRAIN_STATE_DIR=str(tmp_path))
    result = run(["run"], env, stdin=b"open the curtains\n\nclose the curtains\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.decode().splitlines() if line.startswith("{")]
    assert [c["commands"] for c in lines] == [[{"device": "living_room_curtains", "action": "open"}],
                                              [{"device": "living_room_curtains", "action": "close"}]]
    sent = '  would send {"state":"CLOSE"} to home/living_room/curtains/set (living_room_curtains)'
    assert sent in result.stdout.decode()


def test_model_info_shows_the_verified_file(cli_env, model_path):
    result = run(["model", "info", "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    with model_path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    assert (info["path"], info["size"], info["sha256"]) == (str(model_path), model_path.stat().st_size, digest)
    entry = load_manifest().matching(info["size"], info["sha256"])  # the manifest's name for the file, if listed
    assert (info["name"], info["default"]) == ((entry.name, entry.default) if entry else ("unlisted", False))
    assert "Qwen2.5" in info["gguf_name"]


def test_bench_reports_accuracy_latency_and_memory(cli_env, tmp_path):
    dataset = tmp_path / "set.jsonl"
    dataset.write_text(
        json.dumps({"text": "open the curtains", "now": "15:00", "category": "direct-en",
                    "commands": [{"device": "living_room_curtains", "action": "open"}]}) + "\n"
        + json.dumps({"text": "tell me a joke", "now": "15:00", "category": "refuse", "commands": []}) + "\n",
        encoding="utf-8")
    default = load_manifest().default
    result = run(["bench", "--model", default.name, "--set", str(dataset), "--json", "-"], cli_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout[result.stdout.index(b"{"):])
    assert result.stdout.startswith(f"model {default.name}, the measured default, {default.size:,} bytes, "
                                    f"SHA-256 {default.sha256[:16]}…".encode())
    assert (report["model"]["name"], report["model"]["sha256"]) == (default.name, default.sha256)
    assert report["cases"] == 2 and report["fast"]["accuracy"] == 1.0
    assert report["fast"]["latency_ms"]["p50"] > 0 and report["peak_rss_mb"] > 100


def test_bench_suite_and_generated_home_flags_reach_the_bench(cli_env, tmp_path):
    from tests.homes import generate_homes

    flags = ["--set", "--json", "--show-failures", "--fast-only", "--without", "--limit", "--suite", "--homes",
             "--seed", "--size"]
    shown = run(["bench", "--help"], cli_env)
    assert shown.returncode == 0 and all(flag in shown.stdout.decode() for flag in flags)
    home = tmp_path / "suite" / "hall"
    home.mkdir(parents=True)
    (home / "devices.yaml").write_text(
        "devices:\n  - {id: hall_light, type: light, name: Hall light, room: hallway, mqtt: {topic: home/hall}}\n")
    (home / "cases.jsonl").write_text(json.dumps({"text": "turn off the hall light", "now": "15:00",
                                                  "category": "direct-en",
                                                  "commands": [{"device": "hall_light", "action": "off"}]}) + "\n")
    result = run(["bench", "--suite", str(tmp_path / "suite"), "--homes", "1", "--seed", "7", "--size", "2",
                  "--json", "-"], cli_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout[result.stdout.index(b"\n{") + 1:])
    suite, generated = report["suite"], report["generated"]
    assert suite["homes"] == 1 and [row["text"] for row in suite["slowest"]] == ["turn off the hall light"]
    # The generated home is the one of seed 7 with 2 devices: its requests are that home's, and no other's.
    cases = {c.text for c in generate_homes(1, 7, size=2)[0].cases}
    others = {c.text for seed, size in ((0, 2), (7, 0), (8, 2)) for c in generate_homes(1, seed, size=size)[0].cases}
    slowest = {row["text"] for row in generated["slowest"]}
    assert generated["homes"] == 1 and len(slowest) == 5 and slowest <= cases and not slowest & others
    assert f"generated (seed 7, 2 devices each): 1 homes, accuracy {generated['accuracy']:.1%} of {len(cases)}," \
        in result.stdout.decode()


def test_help_names_every_command_and_version_comes_from_the_package():
    from importlib.metadata import version

    from edgebrain.cli.main import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    shown = subprocess.run([sys.executable, "-m", "edgebrain", "--help"], capture_output=True, check=True).stdout
    assert len(commands) == 11 and all(name in shown.decode() for name in commands)
    done = subprocess.run([sys.executable, "-m", "edgebrain", "--version"], capture_output=True, check=True)
    assert done.stdout.decode().strip() == f"edgebrain {version('edgebrain')}"
