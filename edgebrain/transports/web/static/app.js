"use strict";
// The console page: state from /api/state, live updates from /api/events, actions with the CSRF token.
const WORDS = {
  en: {talk: "Talk to it", send: "Send", home: "The home", timed: "Timed commands", recent: "Recent requests",
       health: "Health", example: "turn on the kitchen light / 打开客厅灯", cancel: "Cancel", none: "Nothing yet",
       due: "due", language: "中文", state: "state", last: "last sent", errors: "Last errors",
       hold: "Hold to talk", listening: "Listening… release to send", heard: "heard", signout: "Sign out"},
  zh: {talk: "对它说", send: "发送", home: "家里的设备", timed: "定时命令", recent: "最近的请求", health: "状态",
       example: "打开客厅灯 / turn on the kitchen light", cancel: "取消", none: "暂无", due: "时间",
       language: "English", state: "状态", last: "上次发送", errors: "最近的错误",
       hold: "按住说话", listening: "正在听…松开发送", heard: "听到", signout: "退出"},
};
const ACTIONS = {zh: {on: "开", off: "关", toggle: "切换", open: "打开", close: "关闭", increase: "调高", decrease: "调低"}};
let lang = (navigator.language || "en").startsWith("zh") ? "zh" : "en";
let csrf = "";
let state = {devices: [], jobs: [], results: [], errors: [], health: {}};

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => (k === "onclick" ? (node.onclick = v) : node.setAttribute(k, v)));
  children.flat().forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return node;
}
const t = (key) => WORDS[lang][key] || key;

async function post(path, body) {
  const response = await fetch(path, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body || {})});
  const data = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function showResult(result) {
  $("answer").replaceChildren(
    el("div", {class: "muted", id: "answer-text"}, `${t("heard")}: ${result.text}`),
    el("div", {class: "reply"}, result.reply || ""),
    el("div", {}, el("span", {class: "status " + result.status, id: "answer-status"}, result.status),
       el("span", {class: "muted"}, " " + result.commands.map(said).join(", "))));
}

const AGO = {en: ["s ago", "min ago", "h ago"], zh: ["秒前", "分钟前", "小时前"]};
function ago(seconds) {
  const [s, m, h] = AGO[lang];
  return seconds < 60 ? `${seconds} ${s}` : seconds < 3600 ? `${Math.floor(seconds / 60)} ${m}`
                      : `${Math.floor(seconds / 3600)} ${h}`;
}

// A GPIO output's level is its duty cycle (%); an imported device's is its value in its type's unit.
const unitOf = (d) => (d.route.startsWith("GPIO") ? "%" : d.unit || "%");

const STATES = {en: {ON: "on", OFF: "off", OPEN: "open", CLOSED: "closed", unknown: "unknown"},
                zh: {ON: "开着", OFF: "关着", OPEN: "开着", CLOSED: "关着", unknown: "未知"}};
// A cover says open or closed where a light says on or off.
const stateWord = (d, s) => STATES[lang][d.type === "cover" && s !== "unknown" ? (s === "ON" ? "OPEN" : "CLOSED") : s];

function stateText(d) {
  const s = d.state;
  if (s) {
    return `${t("state")}: ${stateWord(d, s.state)}${s.level !== undefined ? " " + s.level + unitOf(d) : ""}` +
      (s.age_s !== undefined ? ` · ${ago(s.age_s)}` : "");
  }
  if (!d.last) return "";
  const action = (ACTIONS[lang] || {})[d.last.action] || d.last.action;
  return `${t("last")}: ${action}${d.last.value !== null ? " " + d.last.value + unitOf(d) : ""}`;
}

// The tile's switch: it shows what the device last said (or was last sent) and asks for the other.
function isOn(d) {
  if (d.state && d.state.state !== "unknown") return d.state.state === "ON";
  return d.last ? ["on", "open", "set", "increase"].includes(d.last.action) : false;
}

function toggle(d) {
  const [on, off] = d.actions.includes("open") ? ["open", "close"] : ["on", "off"];
  if (!d.actions.includes(on) || !d.actions.includes(off)) return [];
  const lit = isOn(d);
  const action = lit ? off : on;
  return [el("button", {type: "button", class: "toggle" + (lit ? " lit" : ""), role: "switch", id: "toggle-" + d.id,
                        "aria-checked": String(lit), "aria-label": d.name, "data-device": d.id, "data-action": action,
                        onclick: () => post(`/api/devices/${d.id}/${action}`).catch((e) => alert(e.message))},
                 stateWord(d, lit ? "ON" : "OFF"))];
}

function slider(d) {
  if (!d.range) return [];
  const level = d.state && d.state.level !== undefined ? d.state.level : d.range[0];
  const input = el("input", {type: "range", id: "level-" + d.id, min: d.range[0], max: d.range[1], step: 1,
                             value: Math.min(Math.max(level, d.range[0]), d.range[1]), "aria-label": d.name});
  input.onchange = () => post(`/api/devices/${d.id}/set`, {value: Number(input.value)}).catch((e) => alert(e.message));
  return [input];
}

function renderDevices() {
  const rooms = {};
  state.devices.forEach((d) => (rooms[d.room || "—"] = rooms[d.room || "—"] || []).push(d));
  $("devices").replaceChildren(...Object.entries(rooms).flatMap(([room, devices]) => [
    el("div", {class: "room"}, lang === "zh" ? devices[0].room_zh || room : room),
    ...devices.map((d) => el("div", {class: "device", id: "device-" + d.id},
      el("span", {class: "name"}, lang === "zh" ? d.name_zh : d.name),
      el("span", {class: "state", id: "state-" + d.id}, stateText(d)),
      ...toggle(d),
      ...slider(d),
      el("span", {class: "meta"}, `${d.type} · ${d.route}`)))]));
}

const said = (c) => `${c.device} ${c.action}${c.value !== undefined ? " " + c.value : ""}` +
  (c.time ? ` @ ${c.time}` : "");

function renderJobs() {
  $("jobs").replaceChildren(...(state.jobs.length ? state.jobs.map((j) => el("li", {id: "job-" + j.id},
    el("span", {class: "command"}, said(j.command)), " ",
    el("span", {class: "muted"}, `${t("due")} ${j.due.replace("T", " ")} `),
    el("button", {type: "button", class: "cancel", onclick: () => post(`/api/jobs/${j.id}/cancel`)
      .catch((e) => alert(e.message))}, t("cancel")))) : [el("li", {class: "muted"}, t("none"))]));
}

function renderHistory() {
  const items = state.results.slice(0, 15).map((r) => el("li", {},
    el("span", {}, r.text || r.id), el("span", {class: "status " + r.status}, r.status),
    el("div", {class: "muted"}, r.reply || "")));
  $("history").replaceChildren(...(items.length ? items : [el("li", {class: "muted"}, t("none"))]));
}

function renderHealth() {
  const facts = Object.entries(state.health || {}).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]);
  const errors = state.errors.slice(0, 3).map((e) => `${e.code}: ${e.message}`).join(" | ");
  $("facts").replaceChildren(...facts, el("dt", {}, t("errors")), el("dd", {id: "errors"}, errors || t("none")));
}

function render() {
  document.documentElement.lang = lang === "zh" ? "zh" : "en";
  document.querySelectorAll("[data-t]").forEach((n) => (n.textContent = t(n.dataset.t)));
  $("text").placeholder = t("example");
  $("language").textContent = t("language");
  renderDevices(); renderJobs(); renderHistory(); renderHealth();
}

async function load() {
  const response = await fetch("/api/state", {credentials: "same-origin"});
  if (response.status === 401) { location.href = "/login"; return; }
  const data = await response.json();
  csrf = data.csrf;
  state = data;
  $("talk-button").hidden = !(data.speech && navigator.mediaDevices);
  $("sign-out").hidden = !data.signed_in;
  render();
}

$("ask").onsubmit = async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  try { showResult(await post("/api/text", {text})); $("text").value = ""; }
  catch (e) { $("answer").replaceChildren(el("div", {class: "error"}, e.message)); }
};
$("language").onclick = () => { lang = lang === "en" ? "zh" : "en"; render(); };
$("sign-out").onclick = () => fetch("/logout", {method: "POST", credentials: "same-origin",
  headers: {"X-CSRF-Token": csrf}}).finally(() => (location.href = "/login"));

// Push-to-talk: the browser records while the button is held, then sends 16 kHz mono 16-bit PCM.
let recording = null;
async function startTalking() {
  if (recording) return;
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const node = context.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  node.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
  source.connect(node); node.connect(context.destination);
  recording = {stream, context, node, chunks};
  $("talk-button").textContent = t("listening");
}
function to16k(chunks, rate) {
  const samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0; chunks.forEach((c) => { samples.set(c, offset); offset += c.length; });
  const step = rate / 16000, out = new Int16Array(Math.floor(samples.length / step));
  for (let i = 0; i < out.length; i++) {
    const start = Math.floor(i * step), end = Math.max(start + 1, Math.floor((i + 1) * step));
    let sum = 0; for (let j = start; j < end; j++) sum += samples[j];
    out[i] = Math.max(-32768, Math.min(32767, Math.round((sum / (end - start)) * 32767)));
  }
  return out;
}
async function stopTalking() {
  if (!recording) return;
  const {stream, context, node, chunks} = recording;
  recording = null;
  node.disconnect(); stream.getTracks().forEach((track) => track.stop());
  const pcm = to16k(chunks, context.sampleRate);
  await context.close();
  $("talk-button").textContent = t("hold");
  const response = await fetch("/api/speech", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/octet-stream", "X-CSRF-Token": csrf}, body: pcm.buffer});
  const data = await response.json().catch(() => ({error: response.statusText}));
  if (response.ok) showResult(data);
  else $("answer").replaceChildren(el("div", {class: "error"}, data.error || response.statusText));
}
const talk = $("talk-button");
talk.onpointerdown = () => startTalking().catch((e) => alert(e.message));
talk.onpointerup = talk.onpointerleave = () => stopTalking().catch((e) => alert(e.message));

load().then(() => {
  const events = new EventSource("/api/events");
  events.addEventListener("state", (e) => { state = {...state, ...JSON.parse(e.data)}; render(); });
  setInterval(() => load().catch(() => {}), 10000);  // health (uptime) now and then
});
