import { BASE_CSS } from "../../shared/web/base-css.ts";

const CHAT_CSS = `
body{display:flex;flex-direction:column;height:100vh}
main.chat{flex:1;min-height:0;display:grid;grid-template-columns:minmax(0,1fr) 320px;gap:16px;max-width:1280px;width:100%;
margin:0 auto;padding:16px 24px}
@media (max-width:900px){main.chat{grid-template-columns:minmax(0,1fr)}aside{display:none}}
.column{display:flex;flex-direction:column;min-height:0}
#conversation{flex:1;overflow:auto;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:12px 16px}
#conversation:empty::before{content:"Ask Prime to reflect on the code, spawn a Lab, verify or promote a generation.";color:var(--muted)}
.msg{margin:10px 0;padding:8px 12px;border-radius:8px;white-space:pre-wrap;overflow-wrap:anywhere;max-width:88%}
.msg.user{margin-left:auto;background:color-mix(in srgb,var(--accent) 12%,var(--panel));border:1px solid color-mix(in srgb,var(--accent) 30%,transparent)}
.msg.assistant{background:var(--bg);border:1px solid var(--line)}
.who{display:block;font-size:11px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;margin-bottom:2px}
.tool{margin:6px 0 6px 12px;border-left:3px solid var(--line);padding:2px 0 2px 10px;font-size:13px}
.tool summary{font-family:var(--mono);font-size:12.5px;color:var(--fg)}
.tool .state{margin-left:6px;font-family:system-ui,sans-serif;font-size:12px;color:var(--muted)}
.tool.running{border-left-color:var(--run)}.tool.ok{border-left-color:var(--ok)}.tool.err{border-left-color:var(--bad)}
.tool.err .state{color:var(--bad)}
.tool pre{margin-top:6px;max-height:260px}
.status{color:var(--muted);font-size:12.5px;margin:6px 0}
.status.error{color:var(--bad)}
form.compose{display:flex;gap:8px;margin-top:12px;align-items:flex-end}
form.compose textarea{flex:1;min-height:3.2em;max-height:40vh;resize:vertical;font:inherit;padding:8px 10px;border-radius:8px;
border:1px solid var(--line);background:var(--panel);color:var(--fg)}
form.compose button{padding:8px 18px}
.hint{font-size:12px;color:var(--muted);margin-top:4px}
aside .panel{font-size:13px}
aside dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:3px 12px;margin:0}
aside dt{color:var(--muted)}aside dd{margin:0;overflow-wrap:anywhere}
#activity{list-style:none;margin:0;padding:0;max-height:50vh;overflow:auto}
#activity li{padding:3px 0;border-top:1px solid var(--line);overflow-wrap:anywhere}
#activity li:first-child{border-top:none}
#activity .t{color:var(--muted);font-size:11.5px;margin-right:6px;font-variant-numeric:tabular-nums}
.busy-dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--run);margin-right:6px;
animation:pulse 1s infinite alternate}
@keyframes pulse{from{opacity:.3}to{opacity:1}}
`;

// Browser code, plain ES2020. Everything shown goes through textContent; no template literals inside.
const CHAT_SCRIPT = `
"use strict";
var conversation = document.getElementById("conversation");
var form = document.getElementById("compose");
var box = document.getElementById("message");
var send = document.getElementById("send");
var tokenRow = document.getElementById("token-row");
var tokenInput = document.getElementById("token-input");
var TOKEN_KEY = "loom-prime-token";
tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || "";
if (tokenInput.value) tokenRow.hidden = false;
tokenInput.addEventListener("input", function () { sessionStorage.setItem(TOKEN_KEY, tokenInput.value); });
tokenRow.addEventListener("submit", function (ev) { ev.preventDefault(); box.focus(); });
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function clock(at) { var d = at ? new Date(at) : new Date(); return isNaN(d.getTime()) ? "" : d.toTimeString().slice(0, 8); }
function short(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }
function json(v) { try { return JSON.stringify(v, null, 2); } catch (_) { return String(v); } }
var stick = true;
conversation.addEventListener("scroll", function () {
  stick = conversation.scrollHeight - conversation.scrollTop - conversation.clientHeight < 40;
});
function add(node) {
  conversation.append(node);
  if (stick) conversation.scrollTop = conversation.scrollHeight;
  return node;
}
function message(role, text) {
  var div = el("div", "msg " + role);
  div.append(el("span", "who", role === "user" ? "you" : "prime"), document.createTextNode(text));
  return add(div);
}
function status(text, kind) { return add(el("div", "status" + (kind ? " " + kind : ""), text)); }
var tools = {};
function toolCard(id, name, input) {
  var d = el("details", "tool running");
  d.dataset.tool = name;
  if (id) d.dataset.id = id;
  var s = el("summary");
  s.append(document.createTextNode(name + " " + short(JSON.stringify(input === undefined ? {} : input), 90)), el("span", "state", "running…"));
  d.append(s, el("pre", "input", json(input)));
  if (id) tools[id] = d;
  return add(d);
}
function toolDone(id, name, isError, output, durationMs) {
  var d = (id && tools[id]) || toolCard(id, name, undefined);
  d.className = "tool " + (isError ? "err" : "ok");
  d.querySelector(".state").textContent = (isError ? "failed" : "done") + (durationMs !== undefined ? " · " + Math.round(durationMs) + " ms" : "");
  var out = el("pre", "output", output);
  d.append(out);
}
function textOf(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map(function (b) { return b && b.type === "text" ? b.text : ""; }).join("\\n");
}
async function history() {
  try {
    var res = await fetch("/chat", { headers: { accept: "application/json" } });
    if (!res.ok) return;
    var body = await res.json();
    (body.messages || []).forEach(function (m) {
      var blocks = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content || [];
      blocks.forEach(function (b) {
        if (b.type === "text" && b.text.trim()) message(m.role, b.text);
        else if (b.type === "tool_use") toolCard(b.id, b.name, b.input);
        else if (b.type === "tool_result") toolDone(b.tool_use_id, "tool", b.is_error === true, textOf(b.content));
      });
    });
  } catch (_) { /* the page still works for new messages */ }
}
var streaming = false;
function show(e) {
  if (e.type === "text") message("assistant", e.text);
  else if (e.type === "tool_start") toolCard(e.id, e.name, e.input);
  else if (e.type === "tool_end") toolDone(e.id, e.name, e.isError, e.output, e.durationMs);
  else if (e.type === "error") status("error " + e.code + ": " + e.message, "error");
  else if (e.type === "done") {
    var u = e.usage || {};
    var total = (u.input || 0) + (u.output || 0) + (u.cacheRead || 0) + (u.cacheWrite || 0);
    status("done: " + e.reason + " · " + e.iterations + " model calls · " + total.toLocaleString("en-US") + " tokens");
  }
}
function frames(buffer, onData) {
  var end;
  while ((end = buffer.indexOf("\\n\\n")) !== -1) {
    var frame = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    var data = frame.split("\\n").filter(function (l) { return l.indexOf("data:") === 0; })
      .map(function (l) { return l.slice(l.charAt(5) === " " ? 6 : 5); }).join("\\n");
    if (data) { try { onData(JSON.parse(data)); } catch (_) { /* not an event */ } }
  }
  return buffer;
}
async function submit(text) {
  var headers = { "content-type": "application/json", accept: "text/event-stream" };
  var token = tokenInput.value.trim();
  if (token) headers.authorization = "Bearer " + token;
  streaming = true;
  send.disabled = true;
  document.body.classList.add("busy");
  var waiting = status("Prime is thinking…");
  waiting.prepend(el("span", "busy-dot"));
  try {
    var res = await fetch("/chat", { method: "POST", headers: headers, body: JSON.stringify({ message: text }) });
    if (!res.ok) {
      var body = await res.json().catch(function () { return null; });
      waiting.remove();
      var why = body && body.error ? body.error.message : "HTTP " + res.status;
      status("Not sent: " + why, "error");
      if (res.status === 401) {
        tokenRow.hidden = false;
        sessionStorage.removeItem(TOKEN_KEY);
        tokenInput.focus();
        box.value = text;
      }
      return;
    }
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      if (waiting.isConnected && chunk.value.length) waiting.remove();
      buffer = frames(buffer + decoder.decode(chunk.value, { stream: true }), show);
    }
    frames(buffer + "\\n\\n", show);
  } catch (err) {
    status("connection lost: " + err.message, "error");
  } finally {
    if (waiting.isConnected) waiting.remove();
    streaming = false;
    send.disabled = false;
    document.body.classList.remove("busy");
    box.focus();
    stats();
  }
}
form.addEventListener("submit", function (ev) {
  ev.preventDefault();
  var text = box.value;
  if (!text.trim() || streaming) return;
  message("user", text);
  box.value = "";
  submit(text);
});
box.addEventListener("keydown", function (ev) {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
});
function fact(dl, name, value) { dl.append(el("dt", null, name), el("dd", null, value)); }
async function stats() {
  try {
    var res = await fetch("/stats", { headers: { accept: "application/json" } });
    if (!res.ok) return;
    var s = await res.json();
    var dl = document.getElementById("stats");
    dl.replaceChildren();
    fact(dl, "model", s.model);
    fact(dl, "turns", s.turns);
    fact(dl, "tokens", Number(s.totalTokens).toLocaleString("en-US"));
    fact(dl, "state", s.busy ? "answering" : "idle");
    fact(dl, "autonomous", s.autonomous && s.autonomous.running ? "running" : "stopped");
    if (s.autonomous && s.autonomous.lastError) fact(dl, "last error", s.autonomous.lastError);
    var link = document.getElementById("supervisor-link");
    if (/^https?:\\/\\//.test(s.supervisorUrl)) { link.href = s.supervisorUrl; link.hidden = false; }
  } catch (_) { /* shown next time */ }
}
var activity = document.getElementById("activity");
function note(at, text) {
  var li = el("li");
  li.append(el("span", "t", clock(at)), document.createTextNode(text));
  activity.prepend(li);
  while (activity.childElementCount > 200) activity.lastElementChild.remove();
}
var logs = new EventSource("/logs");
var conn = document.getElementById("conn");
logs.onopen = function () { conn.textContent = "live"; conn.className = "conn live"; activity.replaceChildren(); };
logs.onerror = function () { conn.textContent = "reconnecting…"; conn.className = "conn down"; };
logs.onmessage = function (m) {
  var e;
  try { e = JSON.parse(m.data); } catch (_) { return; }
  if (!e || typeof e.type !== "string") return;
  if (e.type === "log") note(e.at, e.message);
  else if (e.type === "tool_start") note(null, "→ " + e.name);
  else if (e.type === "tool_end") note(null, (e.isError ? "✗ " : "✓ ") + e.name);
  else if (e.type === "error") note(null, "error " + e.code + ": " + e.message);
  else if (e.type === "done") { note(null, "turn done: " + e.reason); if (!streaming) stats(); }
};
history().then(stats);
box.focus();
`;

/**
 * Prime's chat page: plain HTML and a small script, no framework, no build step. It shows the
 * conversation so far (GET /chat), sends a message (POST /chat) and renders the streamed replies and
 * tool calls as they come; Prime's log (GET /logs) and numbers (GET /stats) sit beside it. Every value
 * from the server is set as text, never as markup; no configuration or secret is in the page, and a
 * bearer token (when Prime needs one) is asked for and kept in this tab only.
 */
export function renderChatPage(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loom Prime</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<style>${BASE_CSS}${CHAT_CSS}
.conn{font-size:12px;font-weight:400;margin-left:6px}
.conn::before{content:"";display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--off);margin-right:5px}
.conn.live::before{background:var(--ok)}.conn.down::before{background:var(--bad)}
</style></head><body>
<header class="top"><h1>Loom Prime</h1>
<a id="supervisor-link" href="#" hidden>Supervisor</a>
<form class="token" id="token-row" hidden autocomplete="off">
<label for="token-input" class="muted">Token</label>
<input id="token-input" type="password" autocomplete="off" spellcheck="false" placeholder="LOOM_SUPERVISOR_TOKEN" size="14">
</form>
</header>
<main class="chat">
<section class="column" aria-label="conversation with Prime">
<div id="conversation" aria-live="polite"></div>
<form class="compose" id="compose">
<label for="message" class="muted" hidden>Message</label>
<textarea id="message" rows="2" maxlength="100000" placeholder="Ask Prime: reflect, spawn a Lab, verify, promote…" required></textarea>
<button id="send" type="submit" class="primary">Send</button>
</form>
<p class="hint">Enter sends · Shift+Enter for a new line</p>
</section>
<aside class="column">
<section class="panel"><h2>Prime</h2><dl id="stats"></dl></section>
<section class="panel"><h2>Log <span id="conn" class="conn">connecting…</span></h2><ol id="activity" aria-label="Prime's log, newest first"></ol></section>
</aside>
</main>
<script nonce="${nonce}">${CHAT_SCRIPT}</script>
</body></html>
`;
}
