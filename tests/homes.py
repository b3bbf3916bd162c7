"""Seeded random smart-home registries with requests (EN/ZH) labelled by the edgebrain rules, each case emitted only
when it has exactly one correct answer for its home. Usage: ``python tests/homes.py --count 50 --seed 0 --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import yaml

Device = dict[str, object]
Command = dict[str, object]
Ref = tuple[str, list[Device], str]  # phrase as said, devices it reaches, kind: one | many | all
Made = tuple[str, list[Command]] | None


def _t(s: str) -> tuple[str, ...]:
    return tuple(s.split("|")) if s else ()


def _pairs(s: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.split("/")) for p in s.split("|"))


CATEGORIES = ("basic", "scripts", "partial", "extremes", "verbs", "numbers", "indirect", "refusals")
ACTIONS = {"light": _t("on|off|toggle|set|increase|decrease"), "humidifier": _t("on|off|set|increase|decrease"),
           "ac": _t("on|off|set|increase|decrease"), "fan": _t("on|off|set|increase|decrease"),
           "switch": _t("on|off|toggle"), "cover": _t("open|close|set")}
RANGES = {"light": (0, 100), "humidifier": (30, 80), "ac": (16, 30), "fan": (0, 100), "cover": (0, 100)}
_ROOMS = _pairs("living/Living room/客厅|bedroom/Bedroom/卧室|kitchen/Kitchen/厨房|bathroom/Bathroom/卫生间|"
                "study/Study/书房|dining/Dining room/餐厅|balcony/Balcony/阳台|hallway/Hallway/走廊|"
                "kids/Kid's room/儿童房|bedroom2/Bedroom 2/次卧2|bedroom3/Bedroom 3/次卧3|"
                "hall2f/2F hallway/二楼走廊|master/Master bedroom/主卧|guest/Guest room/客房|office/Home office/办公室")
_COMMON = _pairs("living room/客厅|bedroom/卧室|kitchen/厨房|bathroom/卫生间/浴室|study/书房|dining room/餐厅|"
                 "balcony/阳台|hallway/走廊|kids' room/kid's room/儿童房")
_PARTIAL = {a: b for a, b in _pairs("bedroom 2/bedroom|bedroom 3/bedroom|2f hallway/hallway|"
                                    "master bedroom/bedroom|次卧2/次卧|次卧3/次卧|二楼走廊/走廊")}
_MISSING = _pairs("garage/车库|basement/地下室|attic/阁楼|gym/健身房|wine cellar/酒窖|sunroom/阳光房")
_NAMES = {t: _pairs(s) for t, s in {
    "light": "Ceiling light/吸顶灯|Lamp/台灯|Floor lamp/落地灯|Night light/小夜灯|Light strip/灯带|"
             "Pendant/吊灯|Spotlights/射灯|Light/灯|Mirror light/镜前灯|Reading nook/阅读角|Porch/门廊|Hue/米家",
    "fan": "Fan/风扇|Ceiling fan/吊扇|Tower fan/塔扇|Desk fan/台扇|Exhaust fan/排气扇|Dyson/戴森",
    "ac": "AC/空调|Air conditioner/冷气机|Aircon/空调机|Daikin/格力",
    "humidifier": "Humidifier/加湿器|Mist maker/雾化器|Levoit/小熊",
    "cover": "Curtains/窗帘|Blinds/百叶窗|Shades/遮光帘|Shutters/卷帘",
    "switch": "Robot vacuum/扫地机器人/vacuum|Roomba/扫地机/vacuum|Coffee machine/咖啡机/coffee|"
              "Kettle/电水壶/kettle|Heater/取暖器/heater|Pump/水泵/pump|Aquarium pump/鱼缸水泵/pump|"
              "Plug/插座/plug|Smart plug/智能插座/plug",
}.items()}
_KIND = {n.lower(): k for en, zh, k in _NAMES["switch"] for n in (en, zh)}
_TRANS = {a.lower(): b.lower() for pairs in _NAMES.values() for en, zh, *_ in pairs for a, b in ((en, zh), (zh, en))}
_BRANDS = set(_t("Hue|Dyson|Daikin|Levoit|Roomba"))
_WORDS = {"light": _t("light|lights|灯"), "fan": _t("fan|fans|风扇"), "ac": _t("AC|ACs|空调"),
          "humidifier": _t("humidifier|humidifiers|加湿器")}
_TYPEWORD = {w.lower(): t for t, ws in {**_WORDS, "cover": _t("curtains|窗帘"), "switch": _t("plug|插座")}.items()
             for w in ws}
_DETECT = {"light": _t("light|lamp|灯"), "fan": _t("fan|扇"), "ac": _t("ac|air|空调|冷气"),
           "humidifier": _t("humid|mist|加湿|雾")}
_COMPLAIN = {"dark": ("light", "on"), "bright": ("light", "decrease"), "hot": ("ac", "on"), "cold": ("ac", "increase"),
             "dry": ("humidifier", "on"), "humid": ("humidifier", "off"), "smoke": ("fan", "on")}
_RIVAL = {"dark": "cover", "bright": "cover", "hot": "fan", "cold": "heater"}  # another answer → ambiguous
_UNSUPPORTED = (("pause", "fan ac humidifier"), ("lock", "light cover fan"), ("mute", "fan ac humidifier light"),
                ("set50", "switch"))
_P = {  # phrasings: key -> (English, Chinese), |-separated; {x} device phrase, {r} room phrase
    "on": ("turn on {x}|switch {x} on|can you turn on {x}?|{x} on, please|please put {x} on|could you switch on {x}",
           "打开{x}|把{x}打开|开一下{x}|帮我开{x}|能帮我开一下{x}吗|{x}开一下"),
    "off": ("turn off {x}|switch off {x}|{x} off|shut off {x} please|can you turn {x} off?|kill {x}|turn {x} off",
            "关掉{x}|把{x}关了|关闭{x}|帮我关一下{x}|{x}关掉吧|能把{x}关上吗"),
    "open": ("open {x}|can you open {x}?|{x} open please|please open up {x}", "拉开{x}|把{x}打开|{x}拉开一下"),
    "close": ("close {x}|shut {x}|close {x} please|could you close {x}?", "拉上{x}|把{x}关上|{x}合上吧"),
    "increase": ("turn up {x}|turn {x} up a bit|{x} up a notch|bump {x} up", "把{x}调高一点|{x}调大点|{x}开大一点"),
    "decrease": ("turn down {x}|turn {x} down a little|{x} down a notch|lower {x}",
                 "把{x}调低一点|{x}调小点|{x}开小一点"),
    "set": ("set {x} to {v}{u}|put {x} at {v}{u}|{x} to {v}{u} please|can you set {x} to {v}{u}?",
            "把{x}调到{v}{u}|{x}设成{v}{u}|{x}调到{v}{u}"),
    "light increase": ("make {x} brighter|brighten {x} a bit", "{x}亮一点|把{x}调亮一点"),
    "light decrease": ("dim {x}", "{x}暗一点|把{x}调暗些"), "toggle": ("toggle {x}|flip {x}", ""),
    "ac increase": ("raise the temperature on {x}|make {x} a bit warmer", "把{x}温度调高一点|{x}温度高一点"),
    "ac decrease": ("lower the temperature on {x}|make {x} a bit cooler", "把{x}温度调低一点|{x}温度低一点"),
    "many on": ("", "把{x}都打开|{x}全部打开"), "many off": ("", "把{x}都关了|{x}全部关掉"),
    "ext light max": ("set {x} to full brightness|{x} to max|make {x} as bright as it goes|crank {x} all the way up|"
                      "full brightness on {x} please|max out {x}",
                      "{x}亮度拉满|把{x}调到最亮|{x}开到最亮|把{x}亮度开到最大"),
    "ext fan max": ("turn {x} up to max|set {x} to maximum|{x} on max please|crank {x} to the max",
                    "把{x}开到最高档|{x}风速调到最大|{x}开到最大"),
    "ext humidifier max": ("set {x} to maximum|{x} to max|turn {x} all the way up", "把{x}开到最大|{x}调到最高"),
    "ext humidifier min": ("set {x} to the minimum|{x} to the lowest setting|turn {x} down to minimum",
                           "{x}调到最小|把{x}调到最低"),
    "ext ac min": ("set {x} to the lowest temperature|make {x} as cold as it goes|drop {x} to the minimum",
                   "把{x}温度调到最低|{x}开到最低温度|{x}调到最低温"),
    "ext ac max": ("set {x} to the highest temperature|put {x} on the maximum temperature",
                   "{x}温度调到最高|把{x}调到最高温度"),
    "ext cover open": ("open {x} all the way|open {x} fully", "把{x}完全拉开|{x}全部打开"),
    "ext cover close": ("close {x} all the way|shut {x} completely", "把{x}完全关上|{x}彻底拉上"),
    "dark": ("it's too dark in {r}|I can't see a thing in {r}|{r} is pitch black|way too dark in {r}, help",
             "{r}太暗了|{r}一片漆黑|{r}伸手不见五指|{r}里看不清"),
    "bright": ("it's too bright in {r}|{r} is blinding me", "{r}太亮了|{r}亮得刺眼"),
    "hot": ("it's boiling in {r}|I'm roasting in {r}|it's too hot in {r}", "{r}热死了|{r}闷得受不了"),
    "cold": ("it's freezing in {r}|too cold in {r}", "{r}太冷了|{r}冻死了"),
    "dry": ("the air in {r} is way too dry|my skin feels so dry in {r}", "{r}太干了|{r}干得皮肤发紧"),
    "humid": ("it's too humid in {r}|{r} feels damp and muggy", "{r}太潮了|{r}湿气太重"),
    "smoke": ("it smells of smoke in {r}|something's burning in {r}, it stinks", "{r}一股烟味|{r}油烟好大"),
    "context increase": ("{x} {be} on but I still can't read|{x} {be} on but it's still too dim to read",
                         "{x}开着，可我还是看不清字|{x}开着但还是太暗了"),
    "context on": ("{x} {be} off and I can't see the stairs|{x} {be} off, I can't see a thing",
                   "{x}关着，我看不见楼梯|{x}没开，什么都看不见"),
    "light up": ("light up {x}|illuminate {x}|please illuminate {x}", "点亮{x}|把{x}点亮"),
    "light up room": ("light up {x}|illuminate {x}|can you light up {x}?", "把{x}照亮|照亮{x}|帮我照亮一下{x}"),
    "start": ("start {x}|run {x}|fire up {x}|get {x} going", "启动{x}|把{x}启动一下|让{x}开始工作|{x}开始运行"),
    "stop": ("stop {x}|halt {x}|stop {x} now", "{x}停下|让{x}停下来|停掉{x}"),
    "vacuum": ("do the floors", "开始扫地"), "coffee": ("brew me a coffee", "煮杯咖啡"),
    "kettle": ("boil some water", "烧壶水"),
    "bright up": ("turn the brightness up|brightness up please", "{x}亮度调高一点|把{x}亮度调高|{x}亮度调高点"),
    "bright down": ("turn the brightness down|brightness down a bit", "把{x}的亮度调低|{x}亮度调低一些"),
    "bright up room": ("turn up the brightness in {x}|bump up the brightness in {x}", ""),
    "bright down room": ("lower the brightness in {x}|turn the brightness down in {x}", ""),
    "timed": ("{a} {x} {t}|{t}, {a} {x}|can you {a} {x} {t}?|please {a} {x} {t}",
              "{t}{a}{x}|{t}帮我{a}{x}|{t}把{x}{a}|{x}{t}{a}吧"),
    "deg": ("set {x} to {w} degrees|{x} to {v} degrees please|make {x} {v} degrees|set {x} to {v}",
            "把{x}调到{c}度|{x}设成{v}度|{x}开{c}度|{x}温度调到{v}度"),
    "pct": ("set {x} to {w} percent|{x} to {v}%|put {x} at {w} percent|{x} at {w} percent please",
            "把{x}调到百分之{c}|{x}调到百分之{v}|{x}开到{v}%|把{x}设成百分之{c}"),
    "pct cover": ("open {x} to {w} percent", "把{x}开到百分之{c}"), "pct light": ("dim {x} to {v} percent", ""),
    "pause": ("pause {x}", "暂停{x}"), "lock": ("lock {x}", "锁上{x}"), "mute": ("mute {x}", "把{x}静音"),
    "set50": ("set {x} to 50 percent", "把{x}调到百分之五十"),
    "ask": ("{be} {x} on?|did I leave {x} on?|{be} {x} still on?", "{x}开着吗|{x}关了没有|{x}现在是开着的吗"),
    "ask cover": ("{be} {x} open?|{be} {x} closed?", "{x}拉开了吗|{x}是关着的吗"),
    "dont": ("don't turn on {x}|please don't switch off {x}|never mind, don't turn {x} off",
             "别关{x}|不要打开{x}|先别开{x}|千万别关{x}"),
    "dont cover": ("don't open {x}|please don't close {x}", "别拉开{x}|不要关上{x}"),
    "missing": ("turn on the {m} light|turn off everything in the {m}|switch off the {m} fan",
                "打开{m}的灯|把{m}的空调关了|关掉{m}所有设备"),
    "json": ("my friend texted me {j} lol, funny huh|someone posted {j} in the group chat, what a nerd",
             "朋友给我发了 {j}，好搞笑|群里有人发 {j}，哈哈"),
}
_REFUSE = tuple((_t(en), _t(zh), _t(bad)) for en, zh, bad in (  # EN, ZH, words that must not occur in the home
    ("lock the front door|can you lock the back door?", "把前门锁上|锁一下大门", "door|lock|门|锁"),
    ("arm the alarm|turn on the burglar alarm", "打开报警器|把安防警报布防", "alarm|报警|警"),
    ("open the garage door|open the gate", "打开车库门|把院子的铁门打开", "garage|gate|door|车库|门"),
    ("turn off the water valve|close the gas valve", "关掉水阀|把燃气阀门关了", "valve|阀|pump|泵"),
    ("start the vacuum cleaner|vacuum the floor please", "启动吸尘器|让扫地机器人扫一下地", "vacuum|roomba|扫地|吸尘"),
    ("turn on the TV|switch the telly off", "打开电视|把电视关了", "tv|telly|电视"),
    ("preheat the oven to 200 degrees", "烤箱预热到两百度", "oven|烤箱"),
    ("run the dishwasher", "启动洗碗机", "dishwasher|洗碗"), ("turn up the speaker", "把音箱音量调大", "speaker|音箱"),
    ("pause the music|next song|play some jazz", "播放音乐|下一首|暂停音乐", "music|song|音乐|歌"),
    ("add milk to my shopping list", "把牛奶加到购物清单", "list|清单"),
    ("set a timer for 10 minutes", "定一个十分钟的计时器", "timer|计时"),
    ("what's the weather tomorrow?|will it rain today?", "明天天气怎么样|今天会下雨吗", "weather|天气"),
    ("tell me a joke|good morning! how are you?", "讲个笑话|你好呀，今天过得怎么样", "joke|笑话"),
    ("water the garden", "给花园浇水", "garden|花园|pump|泵")))
_SPANS = tuple((en, zh, int(m)) for en, zh, m in _pairs(
    "in a quarter of an hour/一刻钟后/15|in half an hour/半小时后/30|in an hour/一小时后/60|"
    "in an hour and a half/一个半小时后/90|in two hours/两个小时后/120|"
    "in two and a half hours/两个半小时后/150|in 45 minutes/45分钟后/45"))
_ONES = _t("zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
           "seventeen|eighteen|nineteen")
_TENS = _t("||twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety")


def _p(key: str, zh: bool) -> tuple[str, ...]:
    return _t(_P.get(key, ("", ""))[zh])


def _en(n: int) -> int | str:
    if not 0 <= n <= 100:
        return n
    return "a hundred" if n == 100 else _ONES[n] if n < 20 else _TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else "")


def _cn(n: int) -> str:
    d = "零一二三四五六七八九"
    if n >= 100:
        rest = n % 100
        return d[n // 100] + "百" + ("" if not rest else "零" + d[rest] if rest < 10 else
                                    _cn(rest) if rest >= 20 else "一" + _cn(rest))
    return d[n] if n < 10 else ("" if n < 20 else d[n // 10]) + "十" + (d[n % 10] if n % 10 else "")


def _zh(s: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in s)


def _has(hay: str, needle: str) -> bool:
    """True when needle occurs in hay as a word (ASCII, plural s allowed) or substring (CJK), ignoring case."""
    hay, needle = hay.lower(), needle.lower()
    if not needle.isascii():
        return needle in hay
    return re.search(rf"(?<![a-z0-9]){re.escape(needle)}s?(?![a-z0-9])", hay) is not None


def _forms(word: str) -> tuple[str, ...]:
    """All spellings of a common room word (EN and ZH), else the word itself."""
    return next((f for f in _COMMON if word.lower() in f), (word.lower(),))


def _names(d: Device) -> list[str]:
    return [str(d["name"]), *cast(list[str], d.get("aliases", []))]


def _say(s: str) -> str:
    """A name or room as said in an English sentence."""
    return s if _zh(s) or s.isupper() or s in _BRANDS or s[:1].isdigit() else s[:1].lower() + s[1:]


def _kind(d: Device) -> str | None:
    """Appliance kind of a switch (vacuum, coffee, kettle, heater, pump, plug)."""
    return next((_KIND[n.lower()] for n in _names(d) if n.lower() in _KIND), None) if d["type"] == "switch" else None


def _hhmm(minutes: int) -> str:
    return f"{minutes % 1440 // 60:02d}:{minutes % 60:02d}"


def _cmd(d: Device, action: str, value: int | None = None, time: str | None = None) -> Command:
    return {"device": d["id"], "action": action, **({"value": value} if value is not None else {}),
            **({"time": time} if time else {})}


def _when(rng: random.Random, now: int, zh: bool) -> tuple[str, str] | None:
    """A time phrase and the HH:MM it means at `now` (the next occurrence), or None when unclear."""
    k, h, t = rng.randrange(7), rng.randint(1, 11), rng.randrange(0, 1440, 15)
    hz, out = "两" if h == 2 else rng.choice((_cn(h), str(h))), None
    if k == 0:
        n = rng.choice((5, 10, 20, 25, 40, 50))
        num = rng.choice((str(n), _cn(n) if zh else str(_en(n))))
        out = (f"{num}分钟后" if zh else f"in {num} minutes"), _hhmm(now + n)
    elif k == 1:
        en, z, m = rng.choice(_SPANS)
        out = (z if zh else en), _hhmm(now + m)
    elif k == 2:  # a bare hour: the next of h:00 and h+12:00
        delta = min((x - now) % 1440 or 1440 for x in (h * 60, (h + 12) * 60))
        out = (f"{hz}点" if zh else rng.choice((f"at {h}", f"at {h} o'clock"))), _hhmm(now + delta)
    elif k == 3 and 5 <= h <= 9:
        out = (f"早上{hz}点" if zh else f"at {h} am"), f"{h:02d}:00"
    elif k == 4 and h >= 7 and now < (h + 12) * 60:
        out = (f"晚上{hz}点" if zh else f"tonight at {h}"), f"{h + 12}:00"
    elif k == 5 and h <= 5:
        out = (f"下午{hz}点半" if zh else f"at {h}:30 pm"), f"{h + 12}:30"
    elif k == 6:
        out = (f"{t // 60}:{t % 60:02d}" if zh else f"at {_hhmm(t)}"), _hhmm(t)
    return out if out and out[1] != _hhmm(now) else None  # "at 15:00" said at 15:00 is unclear


class _Ctx:
    """Labelling oracle for one registry: resolves phrases to devices and builds labelled requests."""

    def __init__(self, devs: list[Device], rng: random.Random) -> None:
        self.devs, self.rng, self.now = devs, rng, 0
        self.rooms = sorted({str(d["room"]) for d in devs if "room" in d})

    def pick(self, key: str, zh: bool, **kw: object) -> str:
        """One phrasing under a key, filled in."""
        return self.rng.choice(_p(key, zh)).format(**kw)

    def named(self, phrase: str) -> list[Device] | None:
        """Devices a name or alias reaches, or None when another device, room or group could also be meant."""
        p = phrase.lower()
        hits = [d for d in self.devs if p in (n.lower() for n in _names(d))]
        if not hits or len({d["type"] for d in hits}) > 1 or any(_has(r, p) or _has(p, r) for r in self.rooms):
            return None
        if any(_has(n, p) for d in self.devs if d not in hits for n in _names(d)):
            return None
        if p in _TYPEWORD and any(d["type"] == _TYPEWORD[p] and d not in hits for d in self.devs):
            return None
        if any(_TRANS.get(p, "") in (n.lower() for n in _names(d)) for d in self.devs if d not in hits):
            return None  # "镜前灯" could also be read as another device's "Mirror light"
        own = {d.get("room") for d in hits}
        for forms in _COMMON:  # a name holding a room word must not be read as another room
            if any(_has(p, f) for f in forms) and {r for r in self.rooms if any(_has(r, f) for f in forms)} - own:
                return None
        return hits

    def room_of(self, word: str) -> str | None:
        """The one room a room word reaches, or None."""
        forms = _forms(word)
        if len(touched := [r for r in self.rooms if any(_has(r, f) for f in forms)]) != 1:
            return None
        if any(d.get("room") != touched[0] and _has(n, f) for d in self.devs for n in _names(d) for f in forms):
            return None
        return touched[0]

    def in_room(self, room: str | None, t: str | None = None) -> list[Device]:
        """Devices in a room (every device for None), optionally of one type."""
        return [d for d in self.devs if (room is None or d.get("room") == room) and t in (None, d["type"])]

    def type_ok(self, t: str) -> bool:
        """True when no device of another type has a name containing this type's words."""
        return not any(d["type"] != t and _has(n, w) for d in self.devs for n in _names(d) for w in _WORDS[t])

    def room_words(self, room: str, zh: bool) -> list[tuple[str, str]]:
        """(word, mode) pairs naming the room in a request; mode basic, scripts, both or partial."""
        out = [(room, ("scripts" if re.search(r"[0-9']", room) else "both" if zh else "basic")
                if _zh(room) == zh else "scripts")]
        out += [(f, "scripts") for f in _forms(room) if _zh(f) == zh != _zh(room)]
        if (p := _PARTIAL.get(room.lower())) and _zh(p) == zh:
            out.append((p, "partial"))
        return [(w, m) for w, m in out if self.room_of(w) == room]

    def room_refs(self, room: str, w: str, zh: bool, mode: str) -> list[Ref]:
        """Type groups, everything and shared names in a room reached by word w."""
        out: list[Ref] = []
        sw = w if zh else _say(w)
        named_room = any(_has(n, f) for d in self.devs for n in _names(d) for f in _forms(w))
        for t, (sing, plur, zw) in _WORDS.items():  # "the bedroom lights" yields to a light named "bedroom light"
            if (ds := self.in_room(room, t)) and self.type_ok(t) and not named_room:
                many = self.rng.choice(_t("the {w} {p}|all the {p} in the {w}|the {p} in the {w}"))
                ph = f"{w}的{zw}" if zh else f"the {sw} {sing}" if len(ds) == 1 else many.format(w=sw, p=plur)
                out.append((ph, ds, "one" if len(ds) == 1 else "many"))
        every = _t("{w}的所有设备|{w}里的全部设备" if zh else "everything in the {w}|all the devices in the {w}")
        out.append((self.rng.choice(every).format(w=sw), self.in_room(room), "all"))
        for d in self.in_room(room):
            hits = self.named(n := str(d["name"]))
            sub = [h for h in hits or [] if h.get("room") == room]
            if hits and len(sub) < len(hits) and (mode != "basic" or _zh(n) == zh):
                out.append((f"{w}的{n}" if zh else f"the {sw} {_say(n)}", sub, "one" if len(sub) == 1 else "many"))
        return out

    def refs(self, mode: str, zh: bool) -> list[Ref]:
        """Every unambiguous reference a request of this mode (basic, scripts, partial) and script can use."""
        out: list[Ref] = []
        for d in self.devs if mode != "partial" else []:
            for n in _names(d):
                if (_zh(n) == zh == _zh(str(d["name"]))) == (mode == "basic") and (hits := self.named(n)):
                    two = len(hits) == 2 and self.rng.random() < 0.3
                    ph = ("两个" if two else "") + n if zh else f"both {_say(n)}s" if two and re.fullmatch(
                        r"[a-z ]+[^s]", n.lower()) else f"the {_say(n)}"
                    out.append((ph, hits, "one" if len(hits) == 1 else "many"))
        for r in self.rooms:
            for w, m in self.room_words(r, zh):
                if m == mode or (m == "both" and mode != "partial"):
                    out += self.room_refs(r, w, zh, mode)
        if mode == "basic":
            for t, (sing, plur, zw) in _WORDS.items():
                if (ds := self.in_room(None, t)) and self.type_ok(t):
                    ph = (f"the {sing}" if len(ds) == 1 else self.rng.choice((f"all the {plur}", f"the {plur}")),
                          self.rng.choice((f"所有的{zw}", f"全部{zw}", f"家里所有{zw}")))[zh]
                    out.append((ph, ds, "one" if len(ds) == 1 else "many"))
            out.append((self.rng.choice(_t("所有设备|全部设备" if zh else "everything|all devices")), self.devs, "all"))
        for d in self.devs if mode == "partial" else []:
            n, t = str(d["name"]), str(d["type"])
            if _zh(n) != zh or not (hits := self.named(n)):
                continue
            if not zh and re.search(r"(lamp|light|fan)$", n.lower()):  # plural of a name: that device only
                out.append((f"the {_say(n)}s", hits, "many"))
            if t in _WORDS and not any(w in n.lower() for w in _DETECT[t]):  # place-like or brand name + type word
                sing, _, zw = _WORDS[t]
                ph = (f"{n}的{zw}" if t == "light" else f"{n}{zw}") if zh else f"the {_say(n)} {sing}"
                out.append((ph, hits, "one" if len(hits) == 1 else "many"))
        return list({ph.lower(): (ph, ds, k) for ph, ds, k in out if ds}.values())

    def single(self, zh: bool, types: tuple[str, ...]) -> list[Ref]:
        """References whose devices all have one type among `types` (same-script ones preferred)."""
        refs = self.refs("basic", zh)
        refs += self.refs("scripts", zh) if not refs or self.rng.random() < 0.3 else []
        return [r for r in refs if r[2] != "all" and len({d["type"] for d in r[1]}) == 1 and r[1][0]["type"] in types]

    def op(self, ref: Ref, zh: bool) -> Made:
        """A direct request on a reference (on/off/open/close/up/down/toggle/set) with its commands."""
        ph, ds, kind = ref
        types = {str(d["type"]) for d in ds}
        acts = {"on", "off"} if kind == "all" else set.intersection(*(set(ACTIONS[t]) for t in types))
        if not (choices := sorted(acts - ({"toggle"} if zh else set()))):
            return None
        a, t = self.rng.choice(choices), min(types)
        targets = [d for d in ds if a in ACTIONS[str(d["type"])]]
        value, u = None, ""
        if a == "set":
            lo, hi = RANGES[t]
            value = self.rng.randrange(lo + 1, hi) if t == "ac" else self.rng.randrange(lo + 10, hi, 5)
            u = ("度" if t == "ac" else "%") if zh else self.rng.choice(_t(" degrees|" if t == "ac" else " percent|%"))
        base = _p(a, zh)[:1] if zh and t == "ac" and a in ("increase", "decrease") else _p(a, zh)  # 空调开大: colder?
        text = self.rng.choice(base + _p(f"{t} {a}", zh) + _p(f"{kind} {a}", zh)).format(x=ph, v=value, u=u)
        return (text, [_cmd(d, a, value) for d in targets]) if targets else None

    def direct(self, mode: str, zh: bool) -> Made:
        """Direct requests (basic, scripts or partial references); basic ones sometimes two in one sentence."""
        if not (refs := self.refs(mode, zh)) or not (first := self.op(self.rng.choice(refs), zh)):
            return None
        second = self.op(self.rng.choice(refs), zh) if mode == "basic" and self.rng.random() < 0.2 else None
        if second and not {c["device"] for c in second[1]} & {c["device"] for c in first[1]}:
            glue = self.rng.choice(_t("，|，然后|，再" if zh else " and |, then "))
            return first[0] + glue + second[0], first[1] + second[1]
        return first

    def extremes(self, zh: bool) -> Made:
        """Max/min/full/lowest requests → set to the end of the range (covers: open/close)."""
        if not (refs := self.single(zh, ("light", "fan", "humidifier", "ac", "cover"))):
            return None
        ph, ds, _ = self.rng.choice(refs)
        t = str(ds[0]["type"])
        end = self.rng.choice([e for e in ("max", "min", "open", "close") if f"ext {t} {e}" in _P])
        text = self.pick(f"ext {t} {end}", zh, x=ph)
        return text, [_cmd(d, end) if t == "cover" else _cmd(d, "set", RANGES[t][end == "max"]) for d in ds]

    def verbs(self, zh: bool) -> Made:
        """Light up / illuminate, start / run / brew / stop appliances, brightness up or down with no device."""
        k, rng = self.rng.randrange(3), self.rng
        rooms: list[tuple[str, str | None]] = [(w, r) for r in self.rooms for w, m in self.room_words(r, zh)
                                               if m != "partial"]
        if k == 0:  # light up: lights only, never the other devices of the room
            refs = [(w if zh else f"the {_say(w)}", ds, " room") for w, r in rooms if (ds := self.in_room(r, "light"))]
            refs += [(ph, ds, "") for ph, ds, _ in self.single(zh, ("light",))]
            if not refs:
                return None
            ph, ds, suffix = rng.choice(refs)
            return self.pick("light up" + suffix, zh, x=ph), [_cmd(d, "on") for d in ds]
        if k == 1:  # appliances on a plug
            if not (apps := [r for r in self.single(zh, ("switch",)) if _kind(r[1][0]) not in (None, "plug")]):
                return None
            ph, ds, _ = rng.choice(apps)
            kind, on = str(_kind(ds[0])), rng.random() < 0.7
            if on and kind in _P and rng.random() < 0.3 and [d for d in self.devs if _kind(d) == kind] == ds[:1]:
                return self.pick(kind, zh), [_cmd(ds[0], "on")]  # "do the floors" with the home's one vacuum
            return self.pick("start" if on else "stop", zh, x=ph), [_cmd(d, "on" if on else "off") for d in ds]
        w, room = rng.choice(rooms) if rooms and rng.random() < 0.5 else ("", None)
        if not (ds := self.in_room(room, "light")) or not self.type_ok("light"):
            return None
        up = rng.random() < 0.6
        key = ("bright up" if up else "bright down") + (" room" if room and not zh else "")
        text = self.pick(key, zh, x=w if zh else f"the {_say(w)}").replace("把的", "把")
        return text, [_cmd(d, "increase" if up else "decrease") for d in ds]

    def numbers(self, zh: bool) -> Made:
        """Percentages and degrees in words or digits, out-of-range values, relative and clock times."""
        rng, k = self.rng, self.rng.random()
        if k < 0.4:  # a timed on/off/open/close: only the timed command
            refs = self.single(zh, ("light", "fan", "cover", "humidifier", "switch", "ac"))
            if not refs or not (when := _when(rng, self.now, zh)):
                return None
            ph, ds, _ = rng.choice(refs)
            a = rng.choice(("open", "close") if ds[0]["type"] == "cover" else ("on", "off"))
            verb = {"on": ("打开", "turn on"), "off": ("关掉", "turn off"), "open": ("拉开", "open"),
                    "close": ("拉上", "close")}[a][not zh]
            return self.pick("timed", zh, t=when[0], a=verb, x=ph), [_cmd(d, a, time=when[1]) for d in ds]
        if not (refs := self.single(zh, ("light", "fan", "cover", "humidifier", "ac"))):
            return None
        ph, ds, _ = rng.choice(refs)
        t, bad = str(ds[0]["type"]), k > 0.85  # out of range: nothing moves
        lo, hi = RANGES[t]
        v = rng.choice((hi + 5, hi + 20, lo - 6) if t in ("humidifier", "ac") else (120, 150)) if bad else \
            rng.randrange(lo + 1, hi) if t == "ac" else rng.randrange(max(lo, 10), hi, 5)
        tpls = _p("deg", zh) if t == "ac" else _p("pct", zh) + _p(f"pct {t}", zh) * (t != "light" or v <= 60)
        text = rng.choice(tpls).format(x=ph, v=v, c=_cn(v), w=_en(v))
        if when := _when(rng, self.now, zh) if not bad and rng.random() < 0.2 else None:
            text = f"{when[0]}{text}" if zh else f"{text} {when[0]}"
        return text, [] if bad else [_cmd(d, "set", v, when[1] if when else None) for d in ds]

    def scope(self, zh: bool) -> tuple[str, list[Device]] | None:
        """A room as said in a complaint, with its devices ("in here" when the home is one room)."""
        rooms: list[tuple[str, str | None]] = [(w if zh else f"the {_say(w)}", r) for r in self.rooms
                                               for w, _ in self.room_words(r, zh)]
        if len({d.get("room") for d in self.devs}) == 1:
            rooms.append((self.rng.choice(("这里", "屋里")) if zh else "here", None))
        if not rooms:
            return None
        ph, room = self.rng.choice(rooms)
        return ph, self.in_room(room)

    def complain(self, kind: str, zh: bool, where: str) -> str:
        """A complaint of one kind about a room phrase."""
        return self.rng.choice([x for x in _p(kind, zh) if where != "here" or "in {r}" in x]).format(r=where)

    def indirect(self, zh: bool) -> Made:
        """Complaints about a room, and context complaints about a named light."""
        rng = self.rng
        if (lights := [r for r in self.single(zh, ("light",)) if r[2] == "one"]) and rng.random() < 0.3:
            ph, ds, _ = rng.choice(lights)
            a = rng.choice(("increase", "on"))
            return self.pick(f"context {a}", zh, x=ph, be="are" if ph.endswith("s") else "is"), [_cmd(ds[0], a)]
        if not (sc := self.scope(zh)):
            return None
        t, a = _COMPLAIN[kind := rng.choice(sorted(_COMPLAIN))]
        ans = [d for d in sc[1] if d["type"] == t]
        has = {str(d["type"]) for d in sc[1]} | {str(_kind(d)) for d in sc[1]}
        if not ans or _RIVAL.get(kind) in has or (kind == "smoke" and len(ans) > 1):
            return None
        return self.complain(kind, zh, sc[0]), [_cmd(d, a) for d in ans]

    def refusals(self, zh: bool) -> Made:
        """Requests that move nothing in this home."""
        rng, k = self.rng, self.rng.randrange(7)
        words = [n.lower() for d in self.devs for n in _names(d)] + [r.lower() for r in self.rooms]
        one = [r for r in self.refs("basic", zh) if r[2] == "one"]
        ph, ds, _ = rng.choice(one) if one else ("", [{"type": ""}], "")
        t, be = str(ds[0]["type"]), "are" if ph.endswith("s") else "is"
        if k == 0:  # things no type can do, or a vacuum/TV/oven the home lacks
            en, zhs, bad = rng.choice(_REFUSE)
            vacuum = "vacuum" in bad and any(_kind(d) == "vacuum" for d in self.devs)
            return None if vacuum or any(b in w for b in bad for w in words) else (rng.choice((en, zhs)[zh]), [])
        if k == 1 and one:  # an action the device's type does not take
            return self.pick(rng.choice([u for u, ts in _UNSUPPORTED if t in ts.split()]), zh, x=ph), []
        if k in (2, 3) and one:  # questions and negations about a real device
            return self.pick(("ask", "dont")[k - 2] + " cover" * (t == "cover"), zh, x=ph, be=be), []
        if k == 4 and (free := [m for m in _MISSING if not any(f in w for f in m for w in words)]):
            return self.pick("missing", zh, m=rng.choice(free)[zh]), []  # a room the home lacks
        if k == 5:  # quoted JSON in chit-chat
            d = rng.choice(self.devs)
            js = json.dumps({"device": d["id"], "action": ACTIONS[str(d["type"])][rng.randrange(2)]})
            return rng.choice(_p("json", zh)).replace("{j}", js), []
        if k == 6 and (sc := self.scope(zh)):  # complaint about a room without the answering type
            kind = rng.choice(("dark", "hot", "dry"))
            rivals = {"dark": {"light", "cover"}, "hot": {"ac", "fan"}, "dry": {"humidifier"}}[kind]
            return None if rivals & {str(d["type"]) for d in sc[1]} else (self.complain(kind, zh, sc[0]), [])
        return None


def _gen_devices(rng: random.Random, size: int = 0) -> list[Device]:
    """A random valid registry: 1-30 devices (or ``size``), EN/ZH/mixed rooms and names, shared names, appliances."""
    style, r = rng.choice(("en", "en", "zh", "zh", "mixed")), rng.random()
    n = 1 if r < 0.08 else rng.randint(2, 8) if r < 0.6 else rng.randint(9, 16) if r < 0.87 else rng.randint(17, 30)
    n = size or n
    pool = list(_ROOMS)
    rng.shuffle(pool)
    rooms = []
    for slug, en, zh in pool[:0 if n == 1 and rng.random() < 0.5 else min(n, rng.randint(1, 2 + n // 3))]:
        text = zh if style == "zh" or (style == "mixed" and rng.random() < 0.5) else en
        rooms.append((slug, text.lower() if rng.random() < 0.15 and text.isascii() else text))
    devs: list[Device] = []
    seen: Counter[str] = Counter()
    for _ in range(n):
        t = rng.choices(tuple(_NAMES), (35, 12, 12, 8, 14, 15))[0]
        slug, room = rng.choice(rooms) if rooms and rng.random() < 0.93 else ("home", None)
        en, zh = rng.choice(_NAMES[t])[:2]
        use_zh = style == "zh" or (style == "mixed" and rng.random() < 0.5)
        d: Device = {"id": "", "type": t, "name": zh if use_zh else en, **({"room": room} if room else {})}
        aliases = [en if use_zh else zh] if rng.random() < 0.35 else []
        if t in ("light", "fan") and room and room.isascii() and rng.random() < 0.12:
            aliases.append(f"{_PARTIAL.get(room.lower(), room.lower())} {t}")
        d.update({"aliases": aliases} if aliases else {})
        seen[tag := f"{slug}_{_kind(d) or t}"] += 1
        d["id"] = tag + (f"_{seen[tag]}" if seen[tag] > 1 else "")
        devs.append(d)
    if 2 <= n < 30 and rng.random() < 0.3:  # a second device with the same name, elsewhere or in the same room
        src = rng.choice(devs)
        slug, room = rng.choice(rooms) if rooms else ("home", None)
        twin = {k: list(cast(list[str], v)) if k == "aliases" else v for k, v in src.items() if k != "room"}
        twin.update({"id": f"{slug}_{src['type']}_twin", **({"room": room} if room else {})})
        devs += [twin] if twin["id"] not in {d["id"] for d in devs} else []
    return devs


@dataclass(frozen=True)
class Case:
    """One labelled request."""

    category: str
    text: str
    now: str
    commands: tuple[dict[str, object], ...]


@dataclass(frozen=True)
class Home:
    """One registry with its labelled requests."""

    seed: int
    devices: tuple[dict[str, object], ...]
    cases: tuple[Case, ...]

    def write(self, folder: Path) -> None:
        """Write folder/devices.yaml and folder/cases.jsonl."""
        folder.mkdir(parents=True, exist_ok=True)
        registry = {"devices": [dict(d) for d in self.devices]}
        (folder / "devices.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), "utf-8")
        lines = (json.dumps({"category": c.category, "text": c.text, "now": c.now, "commands": list(c.commands)},
                            ensure_ascii=False) + "\n" for c in self.cases)
        (folder / "cases.jsonl").write_text("".join(lines), encoding="utf-8")


def generate_home(seed: int, cases_per_home: int = 24, size: int = 0) -> Home:
    """A random home (of `size` devices, or 1-30) and up to `cases_per_home` labelled cases spread over the
    categories, deterministic per seed."""
    rng = random.Random(seed)
    ctx = _Ctx(devs := _gen_devices(rng, size), rng)
    cats, cases, dead, i = rng.sample(CATEGORIES, len(CATEGORIES)), list[Case](), set[str](), 0
    while len(cases) < cases_per_home and len(dead) < len(cats):
        cat, i = cats[i % len(cats)], i + 1
        for _ in range(0 if cat in dead else 40):  # a category that keeps failing is one this home cannot support
            ctx.now, zh = rng.randrange(6 * 60, 24 * 60, 5), rng.random() < 0.5
            made = ctx.direct(cat, zh) if cat in CATEGORIES[:3] else getattr(ctx, cat)(zh)
            if made and made[0] not in {c.text for c in cases}:
                cases.append(Case(cat, made[0], _hhmm(ctx.now), tuple(made[1])))
                break
        else:
            dead.add(cat)
    return Home(seed, tuple(devs), tuple(cases))


def generate_homes(count: int, seed: int = 0, cases_per_home: int = 24, size: int = 0) -> list[Home]:
    """`count` homes with seeds seed, seed+1, … (of `size` devices each, or 1-30)"""
    return [generate_home(seed + i, cases_per_home, size) for i in range(count)]


def check_home(home: Home) -> list[str]:
    """Problems in a home: bad or duplicate ids, or expected commands naming unknown devices, actions or values."""
    types = {str(d["id"]): str(d["type"]) for d in home.devices}
    ok = len(types) == len(home.devices) and all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in types)
    errors = [] if ok else [f"home {home.seed}: bad or duplicate ids"]
    for case in home.cases:
        for c in case.commands:
            t, a, v = types.get(str(c["device"])), str(c["action"]), c.get("value")
            bad = case.category not in CATEGORIES or t is None or a not in ACTIONS[t]
            lo, hi = RANGES.get(str(t), (0, -1))
            bad = bad or (a == "set") != isinstance(v, int) or (isinstance(v, int) and not lo <= v <= hi)
            if bad or ("time" in c and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(c["time"]))):
                errors.append(f"home {home.seed}: {case.text!r}: {c}")
    return errors


def main(argv: list[str] | None = None) -> int:
    """Generate homes, write them out, print counts per category, and self-check the labels."""
    ap = argparse.ArgumentParser(description="Generate random edgebrain homes with labelled requests.")
    for flag, default in (("--count", 50), ("--seed", 0), ("--cases", 24)):
        ap.add_argument(flag, type=int, default=default)
    ap.add_argument("--out", type=Path, help="write DIR/home-<seed>/devices.yaml and cases.jsonl")
    args = ap.parse_args(argv)
    homes = generate_homes(args.count, args.seed, args.cases)
    counts = Counter(c.category for home in homes for c in home.cases)
    errors = [e for home in homes for e in check_home(home)]
    for home in homes if args.out else []:
        home.write(args.out / f"home-{home.seed}")
    for cat in CATEGORIES:
        print(f"{cat:10s} {counts[cat]}")
    print(f"{'total':10s} {sum(counts.values())} cases in {len(homes)} homes")
    print("\n".join(errors) or "self-check: ok")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
