#!/usr/bin/env python3
"""Structural check of the conversation evaluation set (no edgebrain code is used).

Checks that every file parses, every device id exists in its home, every action is
allowed for the device's type (schemas/command.schema.json $defs/types), set values are
in range, sites name registry rooms, and that state answers agree with home.json where
the answer can be checked without the question text. Prints counts per shape/language.
Run: python3 tests/data/conversation/validate.py
"""
import json, re, sys, collections
from pathlib import Path
import yaml

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE.parents[2] / "schemas"
TYPES = json.loads((SCHEMAS / "command.schema.json").read_text())["$defs"]["types"]
DEV_SCHEMA = json.loads((SCHEMAS / "devices.schema.json").read_text())
ID_RE = re.compile(DEV_SCHEMA["$defs"]["device"]["properties"]["id"]["pattern"])
TYPE_ENUM = DEV_SCHEMA["$defs"]["device"]["properties"]["type"]["enum"]
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CJK = re.compile(r"[\u3400-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
STALE = 3600
SHAPES = {"one", "value", "any", "all", "which", "how_many", "missing"}
errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def lang(texts):
    zh = any(CJK.search(t) for t in texts)
    en = any(LATIN.search(t) for t in texts)
    return "mixed" if zh and en else ("zh" if zh else "en")


def allowed(typ):
    return set(TYPES[typ]["properties"]["action"]["enum"])


def vrange(typ):
    v = TYPES[typ].get("properties", {}).get("value")
    return (v["minimum"], v["maximum"]) if v else None


qcount = collections.Counter()
dcount = collections.Counter()
turn_kinds = collections.Counter()
homes = sorted(p for p in HERE.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
summary = []
types_used = set()
for home in homes:
    H = home.name
    reg = yaml.safe_load((home / "devices.yaml").read_text(encoding="utf-8"))
    assert set(reg) <= {"devices", "overlay"}, H
    devs = {}
    for d in reg["devices"]:
        w = f"{H}/devices.yaml {d.get('id')}"
        if not set(d) <= {"id", "type", "name", "room", "aliases", "mqtt", "gpio"}:
            err(w, "unknown key")
        if not ID_RE.match(d["id"]) or len(d["id"]) > 64:
            err(w, "bad id")
        if d["type"] not in TYPE_ENUM:
            err(w, "bad type")
        if d["id"] in devs:
            err(w, "duplicate id")
        if "aliases" in d and len(set(d["aliases"])) != len(d["aliases"]):
            err(w, "duplicate alias")
        devs[d["id"]] = d
        types_used.add(d["type"])
    rooms = {d["room"] for d in devs.values()}
    hj = json.loads((home / "home.json").read_text(encoding="utf-8"))
    assert set(hj) == {"sites", "states"}, H
    for s, r in hj["sites"].items():
        if r not in rooms:
            err(f"{H}/home.json", f"site {s} names unknown room {r!r}")
    states = hj["states"]
    for i, st in states.items():
        w = f"{H}/home.json {i}"
        if i not in devs:
            err(w, "unknown device")
            continue
        if set(st) != {"on", "value", "age_s"}:
            err(w, "state keys")
        if st["on"] not in (True, False, None):
            err(w, "on")
        if st["value"] is not None and not isinstance(st["value"], (int, float)):
            err(w, "value")
        if not isinstance(st["age_s"], int) or st["age_s"] < 0:
            err(w, "age_s")

    def fresh(i):
        st = states.get(i)
        return st is not None and st["age_s"] <= STALE and st["on"] is not None

    def check_answer(w, shape, e):
        k = e.get("kind")
        for i in e.get("devices", []):
            if i not in devs:
                err(w, f"unknown device {i}")
                return
        if shape == "missing":
            if e != {"kind": "missing"}:
                err(w, "missing answer")
        elif shape == "one":
            if k not in ("yes", "no", "unknown") or len(e["devices"]) != 1:
                err(w, "one answer form")
            elif (k == "unknown") != (not fresh(e["devices"][0])):
                err(w, "one: unknown iff state unknown/stale")
        elif shape == "value":
            if len(e["devices"]) != 1:
                err(w, "value: one device")
                return
            i = e["devices"][0]
            if k == "value":
                if not fresh(i) or states[i]["value"] != e["value"]:
                    err(w, "value does not match a fresh state")
            elif k == "unknown":
                if fresh(i) and states[i]["value"] is not None:
                    err(w, "value: unknown but fresh value exists")
            else:
                err(w, "value answer kind")
        elif shape in ("any", "all"):
            if k not in ("yes", "no", "unknown") or not e["devices"]:
                err(w, f"{shape} answer form")
            elif k == "unknown" and all(fresh(i) for i in e["devices"]):
                err(w, f"{shape}: unknown but every covered device is fresh")
        elif shape == "which":
            if k != "which" or not isinstance(e["devices"], list):
                err(w, "which answer form")
            elif not all(fresh(i) for i in e["devices"]):
                err(w, "which lists a device with unknown/stale state")
            elif len({states[i]["on"] for i in e["devices"]}) > 1:
                err(w, "which lists devices in different states")
        elif shape == "how_many":
            if k != "count" or not isinstance(e.get("count"), int) or e["count"] < 0:
                err(w, "count answer form")
        else:
            err(w, f"bad shape {shape}")

    nq = nd = 0
    for n, line in enumerate((home / "questions.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        w = f"{H}/questions.jsonl:{n}"
        try:
            r = json.loads(line)
        except Exception as ex:
            err(w, f"json: {ex}")
            continue
        nq += 1
        if not set(r) <= {"shape", "text", "site", "expected"} or r.get("shape") not in SHAPES:
            err(w, "keys/shape")
            continue
        if "site" in r and r["site"] not in hj["sites"]:
            err(w, "unknown site")
        check_answer(w, r["shape"], r["expected"])
        qcount[(r["shape"], lang([r["text"]]))] += 1

    for n, line in enumerate((home / "dialogues.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        w = f"{H}/dialogues.jsonl:{n}"
        try:
            r = json.loads(line)
        except Exception as ex:
            err(w, f"json: {ex}")
            continue
        nd += 1
        if not set(r) <= {"id", "site", "now", "turns"} or not HHMM.match(r.get("now", "")):
            err(w, "keys/now")
        if "site" in r and r["site"] not in hj["sites"]:
            err(w, "unknown site")
        if not 2 <= len(r["turns"]) <= 4:
            err(w, "2-4 turns")
        for tn, tr in enumerate(r["turns"]):
            tw = f"{w} turn {tn}"
            if not set(tr) <= {"text", "after_s", "expect"}:
                err(tw, "turn keys")
            if "after_s" in tr and (not isinstance(tr["after_s"], int) or tr["after_s"] < 0):
                err(tw, "after_s")
            ex = tr["expect"]
            if "answer" in ex:
                e = ex["answer"]
                shape = {"value": "value", "which": "which", "count": "how_many", "missing": "missing"}.get(e.get("kind"))
                if shape is None:
                    shape = "one" if len(e.get("devices", [])) == 1 else "any"
                check_answer(tw, shape, e)
                turn_kinds["answer"] += 1
                continue
            cmds = ex.get("commands")
            if not isinstance(cmds, list):
                err(tw, "commands")
                continue
            if not cmds:
                if ex.get("status") not in ("ask", "refused"):
                    err(tw, "empty commands need status ask|refused")
                turn_kinds[ex.get("status")] += 1
                continue
            if "status" in ex:
                err(tw, "status with commands")
            turn_kinds["commands"] += 1
            for cm in cmds:
                if not set(cm) <= {"device", "action", "value", "time"}:
                    err(tw, "command keys")
                d = devs.get(cm.get("device"))
                if d is None:
                    err(tw, f"unknown device {cm.get('device')}")
                    continue
                a = cm["action"]
                if a not in allowed(d["type"]):
                    err(tw, f"action {a} not allowed for {d['type']}")
                if a == "set":
                    rg = vrange(d["type"])
                    if "value" not in cm or not (rg[0] <= cm["value"] <= rg[1]):
                        err(tw, "set value missing/out of range")
                elif a in ("increase", "decrease"):
                    if "value" in cm and not (isinstance(cm["value"], (int, float)) and cm["value"] > 0):
                        err(tw, "increase/decrease amount must be > 0")
                elif "value" in cm:
                    err(tw, f"value with {a}")
                if "time" in cm and not HHMM.match(cm["time"]):
                    err(tw, "time")
        dcount[lang([t["text"] for t in r["turns"]])] += 1
    summary.append((H, len(devs), nq, nd))

missing_types = set(TYPE_ENUM) - types_used
if missing_types:
    err("all homes", f"types never used: {missing_types}")

print("home            devices questions dialogues")
for H, nd_, nq, nd in summary:
    print(f"{H:16}{nd_:7}{nq:10}{nd:10}")
print("questions by shape/lang:")
for sh in sorted(SHAPES):
    print(f"  {sh:9}", {l: qcount[(sh, l)] for l in ("en", "zh", "mixed")})
print("questions total:", sum(qcount.values()), dict(collections.Counter({l: sum(v for (s, ll), v in qcount.items() if ll == l) for l in ("en", "zh", "mixed")})))
print("dialogues by lang:", dict(dcount), "total", sum(dcount.values()))
print("dialogue turns by expectation:", dict(turn_kinds))
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("OK")
