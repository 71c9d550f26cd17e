/*
 * The pages' browser code, plain ES2020 without a build step. Everything it shows from the server goes
 * through textContent (never innerHTML), except the Supervisor's own pages fetched back to refresh
 * their sections, which the server has already escaped. No template literals inside: these strings are
 * themselves template literals.
 */

const COMMON = `
"use strict";
var cfg = JSON.parse(document.getElementById("page-config").textContent);
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function clock(at) {
  var d = new Date(at);
  return isNaN(d.getTime()) ? "" : d.toTimeString().slice(0, 8);
}
var noticeEl = document.getElementById("notice");
function notice(text, kind) {
  noticeEl.textContent = text;
  noticeEl.className = kind || "";
}
// A decision's answer survives the reload that shows its result.
var NOTICE_KEY = "loom-notice";
var kept = sessionStorage.getItem(NOTICE_KEY);
if (kept) {
  sessionStorage.removeItem(NOTICE_KEY);
  try { kept = JSON.parse(kept); notice(kept.text, kept.kind); } catch (_) { /* ignore a stale value */ }
}
function keepNotice() {
  sessionStorage.setItem(NOTICE_KEY, JSON.stringify({ text: noticeEl.textContent, kind: noticeEl.className }));
}
var TOKEN_KEY = "loom-supervisor-token";
var tokenInput = document.getElementById("token-input");
if (tokenInput) {
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || "";
  tokenInput.addEventListener("input", function () { sessionStorage.setItem(TOKEN_KEY, tokenInput.value); });
  document.getElementById("token-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
}
async function decide(action, n, button) {
  var token = tokenInput ? tokenInput.value.trim() : "";
  if (cfg.tokenRequired && !token) {
    notice("Enter the Supervisor token (LOOM_SUPERVISOR_TOKEN) first: this Supervisor requires it for " + action + ".", "error");
    tokenInput.focus();
    return;
  }
  var what = action === "promote"
    ? "Promote gen-" + n + "? This merges lab/gen-" + n + " into main and tags it gen-" + n + "."
    : "Roll back gen-" + n + "? Its branch lab/gen-" + n + " is discarded.";
  if (!window.confirm(what)) return;
  var body = { generation: n };
  if (action === "promote" && button && button.dataset.approveGate === "true") body.approveGateChange = true;
  var reasonInput = document.getElementById("rollback-reason");
  if (action === "rollback" && reasonInput && reasonInput.value.trim()) body.reason = reasonInput.value.trim();
  var headers = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  var buttons = document.querySelectorAll("button[data-action][data-generation='" + n + "']");
  buttons.forEach(function (b) { b.disabled = true; });
  notice((action === "promote" ? "Promoting" : "Rolling back") + " gen-" + n + "…", "");
  try {
    var res = await fetch("/" + action, { method: "POST", headers: headers, body: JSON.stringify(body) });
    var answer = await res.json().catch(function () { return null; });
    if (res.ok) {
      notice(action === "promote"
        ? "gen-" + n + " promoted: main is now " + String(answer.mergeCommit).slice(0, 12) + ", tagged " + answer.tag + "."
        : "gen-" + n + " rolled back: " + answer.reason, "ok");
      afterDecision(n);
    } else {
      var msg = answer && answer.error ? answer.error.code + ": " + answer.error.message : "HTTP " + res.status;
      notice("Could not " + (action === "promote" ? "promote" : "roll back") + " gen-" + n + ": " + msg, "error");
      if (res.status === 401 && tokenInput) { sessionStorage.removeItem(TOKEN_KEY); tokenInput.focus(); }
      buttons.forEach(function (b) { b.disabled = b.dataset.action === "promote" && b.getAttribute("aria-disabled") === "true"; });
    }
  } catch (err) {
    notice("Could not reach the Supervisor: " + err.message, "error");
    buttons.forEach(function (b) { b.disabled = false; });
  }
}
document.addEventListener("click", function (ev) {
  var b = ev.target instanceof Element ? ev.target.closest("button[data-action]") : null;
  if (!b || b.disabled) return;
  decide(b.dataset.action, Number(b.dataset.generation), b);
});
var conn = document.getElementById("conn");
function connect(onEvent, onOpen) {
  var es = new EventSource("/logs");
  es.onopen = function () {
    if (conn) { conn.textContent = "live"; conn.className = "conn live"; }
    if (onOpen) onOpen();
  };
  es.onerror = function () {
    if (conn) { conn.textContent = "reconnecting…"; conn.className = "conn down"; }
  };
  es.onmessage = function (m) {
    var e;
    try { e = JSON.parse(m.data); } catch (_) { e = null; }
    // Only the kinds schemas/events.ts declares (cfg.eventTypes); anything else is said and skipped.
    if (!e || typeof e.type !== "string" || cfg.eventTypes.indexOf(e.type) < 0) {
      console.warn("/logs: skipped an event that is not a Supervisor event: " + String(m.data).slice(0, 120));
      return;
    }
    onEvent(e);
  };
  return es;
}
function isNew(e) { return typeof e.at === "string" && e.at >= cfg.renderedAt; }
`;

const DASHBOARD = `
var feed = document.getElementById("feed");
var current = document.getElementById("live-current");
var toolsEl = document.getElementById("live-tools");
var MAX_FEED = 200;
var LAB_CLASS = { starting: "pending", running: "running", done: "verifying", failed: "failed" };
var live = { gen: null, state: null, progress: "", tools: {} };
function describe(e) {
  switch (e.type) {
    case "generation": return e.outcome.replace("_", " ") + (e.reason ? ": " + e.reason : "");
    case "lab_status": return "Lab " + e.status + ": " + e.progress;
    case "prime": return "Prime " + e.state + ": " + e.message;
    case "lab_tool": return e.tool + (e.calls > 1 ? " ×" + e.calls : "") + (e.errors ? " (" + e.errors + " failed)" : "");
    default: return e.message;
  }
}
function push(e) {
  var li = el("li", "ev-" + e.type + (e.type === "lab_tool" && e.errors ? " error" : ""));
  if (e.generation !== null && e.generation !== undefined) li.dataset.generation = String(e.generation);
  if (e.type === "lab_tool") li.dataset.tool = e.tool;
  if (e.type === "generation") li.dataset.outcome = e.outcome;
  li.append(el("span", "t", clock(e.at)), el("span", "g", e.generation ? "gen-" + e.generation : ""), el("span", "m", describe(e)));
  feed.prepend(li);
  while (feed.childElementCount > MAX_FEED) feed.lastElementChild.remove();
}
function renderLive() {
  current.replaceChildren();
  toolsEl.replaceChildren();
  if (live.gen === null) { current.append(el("span", "muted", "No Lab is running.")); return; }
  var a = el("a", null, "gen-" + live.gen);
  a.href = "/generations/" + live.gen;
  var state = live.state || "starting";
  if (live.over) {
    // The Lab is gone; say how its generation stands rather than its last poll.
    var done = el("span", "badge o-" + live.over, live.over.replace("_", " "));
    done.id = "live-state";
    current.append(el("span", "muted", "Last Lab:"), a, done, el("span", "muted", "no Lab is running"));
  } else {
    var badge = el("span", "badge o-" + (LAB_CLASS[state] || "pending"), "Lab " + state);
    badge.id = "live-state";
    current.append(a, badge, el("span", "progress", live.progress));
  }
  Object.keys(live.tools).forEach(function (name) {
    var t = live.tools[name];
    var chip = el("span", "chip", name + " " + t.calls);
    chip.dataset.tool = name;
    if (t.errors) chip.append(" ", el("span", "err", t.errors + " failed"));
    toolsEl.append(chip);
  });
}
// Each running candidate of a round, by generation: its Lab's last state, progress and tool counts,
// drawn into its card in #round (and again after a refresh replaces the cards).
var cands = {};
function candOf(g) {
  var key = String(g);
  if (!cands[key]) cands[key] = { state: "starting", progress: "", tools: {} };
  return cands[key];
}
function drawCands() {
  document.querySelectorAll("#round .cand[data-generation]").forEach(function (card) {
    var c = cands[card.dataset.generation];
    var outcome = card.dataset.outcome;
    if (!c || (outcome !== "pending" && outcome !== "running")) return;
    var badge = card.querySelector("[data-live=state]");
    badge.textContent = "Lab " + c.state;
    badge.className = "badge o-" + (LAB_CLASS[c.state] || "pending");
    card.querySelector("[data-live=progress]").textContent = c.progress;
    var tools = card.querySelector("[data-live=tools]");
    tools.replaceChildren();
    Object.keys(c.tools).forEach(function (name) {
      var t = c.tools[name];
      var chip = el("span", "chip", name + " " + t.calls);
      chip.dataset.tool = name;
      if (t.errors) chip.append(" ", el("span", "err", t.errors + " failed"));
      tools.append(chip);
    });
  });
}
function onEvent(e) {
  push(e);
  if (e.type === "lab_status") {
    var cs = candOf(e.generation);
    cs.state = e.status;
    cs.progress = e.progress;
  } else if (e.type === "lab_tool") {
    candOf(e.generation).tools[e.tool] = { calls: e.totalCalls, errors: e.totalErrors };
  }
  drawCands();
  if (e.type === "generation") {
    if (e.outcome === "pending" || e.outcome === "running") {
      if (live.gen !== e.generation) live = { gen: e.generation, state: "starting", progress: "", tools: {} };
    } else if (live.gen === e.generation) {
      live.over = e.outcome;
    }
    if (isNew(e)) refreshSoon();
  } else if (e.type === "prime") {
    if (isNew(e)) refreshSoon();
  } else if (e.type === "lab_status") {
    if (live.gen !== e.generation) live = { gen: e.generation, state: e.status, progress: "", tools: {} };
    live.state = e.status;
    live.progress = e.progress;
  } else if (e.type === "lab_tool") {
    if (live.gen !== e.generation) live = { gen: e.generation, state: "running", progress: "", tools: {} };
    live.tools[e.tool] = { calls: e.totalCalls, errors: e.totalErrors };
  }
  renderLive();
}
var refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 250);
}
async function refresh() {
  try {
    var res = await fetch("/", { headers: { accept: "text/html" } });
    if (!res.ok) return;
    var doc = new DOMParser().parseFromString(await res.text(), "text/html");
    ["round", "lineage", "chart", "stats"].forEach(function (id) {
      var fresh = doc.getElementById(id);
      var here = document.getElementById(id);
      if (fresh && here) here.replaceWith(document.importNode(fresh, true));
    });
    drawCands();
  } catch (_) { /* the next event retries */ }
}
function afterDecision() { refresh(); }
connect(onEvent, function () {
  // The stream replays recent history on every (re)connect: start the feed over.
  feed.replaceChildren();
  live = { gen: null, state: null, progress: "", tools: {} };
  cands = {};
  renderLive();
});
`;

const GENERATION = `
var n = cfg.generation;
var liveLine = document.getElementById("live-line");
function section(id) { var s = document.getElementById(id); s.replaceChildren(); return s; }
function showProblem(id, res, answer) {
  var msg = answer && answer.error ? answer.error.message : "HTTP " + res.status;
  section(id).append(el("p", "muted", "Not available: " + msg));
}
var DIFF_LINES_SHOWN = 20000;
function renderDiff(d) {
  var program = section("program");
  program.append(el("pre", null, d.program));
  var box = section("diff");
  box.append(el("p", null, d.stat.files + " files changed, " + d.stat.insertions + " insertions(+), " + d.stat.deletions + " deletions(−) · base " + d.base.slice(0, 12) + " → head " + d.head.slice(0, 12)));
  var decl = d.declarations;
  if (decl.changes.length) {
    box.append(el("h3", null, "Declarations"));
    var table = el("table", "decls");
    var head = el("tr");
    ["change", "declaration", "kind", "lines"].forEach(function (h) { head.append(el("th", null, h)); });
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    decl.changes.forEach(function (c) {
      var tr = el("tr");
      tr.dataset.change = c.change;
      tr.append(el("td", "decl-" + c.change, c.change), el("td", "mono", c.path), el("td", null, c.kind), el("td", "num", c.linesBefore + " → " + c.linesAfter));
      table.tBodies[0].append(tr);
    });
    box.append(table);
  }
  [["TypeScript files added", decl.filesAdded], ["TypeScript files removed", decl.filesRemoved], ["Other files", decl.otherFiles]].forEach(function (pair) {
    if (!pair[1].length) return;
    var p = el("p", null, pair[0] + ": ");
    pair[1].forEach(function (f, i) { if (i) p.append(", "); p.append(el("code", null, f)); });
    box.append(p);
  });
  box.append(el("h3", null, "Unified diff"));
  if (d.truncated) box.append(el("p", "fail", "The diff is longer than the Supervisor sends; this is its beginning only."));
  var lines = d.diff.split("\\n");
  var pre = el("pre");
  pre.id = "diff-view";
  lines.slice(0, DIFF_LINES_SHOWN).forEach(function (line) {
    var cls = line.startsWith("diff --git") ? "file" : line.startsWith("@@") ? "hunk"
      : line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
    pre.append(el("span", cls, line === "" ? " " : line));
  });
  box.append(pre);
  if (lines.length > DIFF_LINES_SHOWN) box.append(el("p", "muted", "Showing " + DIFF_LINES_SHOWN + " of " + lines.length + " lines."));
}
async function loadDiff() {
  try {
    var res = await fetch("/generations/" + n + "/diff", { headers: { accept: "application/json" } });
    var answer = await res.json().catch(function () { return null; });
    if (!res.ok || !answer || typeof answer.diff !== "string") {
      showProblem("program", res, answer);
      showProblem("diff", res, answer);
      return;
    }
    renderDiff(answer);
  } catch (err) {
    section("program").append(el("p", "muted", "Not available: " + err.message));
    section("diff").append(el("p", "muted", "Not available: " + err.message));
  }
}
function afterDecision() { keepNotice(); location.reload(); }
if (cfg.outcome === "pending" || cfg.outcome === "running") {
  // lab/gen-N reaches the repo only when the Lab is over; this page reloads itself then.
  ["program", "diff"].forEach(function (id) {
    section(id).append(el("p", "muted", "Shown once the Lab is done and its branch fetched; this page reloads by itself."));
  });
} else {
  loadDiff();
}
connect(function (e) {
  if (e.generation !== n) return;
  if (liveLine && e.type === "lab_status") liveLine.textContent = "Lab " + e.status + ": " + e.progress;
  if (liveLine && e.type === "lab_tool") liveLine.textContent = "tool " + e.tool + " (" + e.totalCalls + " calls so far)";
  if (e.type === "generation" && e.outcome !== cfg.outcome && isNew(e)) { keepNotice(); location.reload(); }
  if (e.type === "verification" && e.state !== "running" && isNew(e)) { keepNotice(); location.reload(); }
});
`;

export const DASHBOARD_SCRIPT = `(function () {${COMMON}${DASHBOARD}})();`;
export const GENERATION_SCRIPT = `(function () {${COMMON}${GENERATION}})();`;
