/**
 * Prime's chat page: plain HTML and a small script, no framework, no build step. It shows the
 * conversation so far (GET /chat), sends a message (POST /chat) and renders the streamed events.
 * It renders only what the conversation holds; configuration and secrets never reach it.
 */
export function renderChatPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loom Prime</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:0;display:flex;flex-direction:column;height:100vh}
header{padding:8px 16px;border-bottom:1px solid #ccc}
#log{flex:1;overflow:auto;padding:8px 16px}
.msg{margin:8px 0;white-space:pre-wrap}
.user{color:#024}
.user::before{content:"you: ";font-weight:bold}
.assistant::before{content:"prime: ";font-weight:bold}
.tool{font:12px ui-monospace,monospace;color:#555;margin:2px 0 2px 16px;white-space:pre-wrap}
.tool.err{color:#a00}
.status{color:#777;font-style:italic}
form{display:flex;gap:8px;padding:8px 16px;border-top:1px solid #ccc}
textarea{flex:1;height:4em;font:inherit}
</style></head><body>
<header><strong>Loom Prime</strong> · <a href="/stats">/stats</a> · <a href="/logs">/logs</a> (event stream)</header>
<div id="log"></div>
<form id="form"><textarea id="message" placeholder="Ask Prime: reflect, spawn a Lab, verify, promote…" required></textarea><button id="send">Send</button></form>
<script>
const log = document.getElementById("log");
const form = document.getElementById("form");
const box = document.getElementById("message");
const send = document.getElementById("send");
function add(cls, text) {
  const div = document.createElement("div");
  div.className = cls;
  div.textContent = text;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}
const short = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
function show(event) {
  if (event.type === "text") add("msg assistant", event.text);
  else if (event.type === "tool_start") add("tool", "→ " + event.name + " " + short(JSON.stringify(event.input), 300));
  else if (event.type === "tool_end") add("tool" + (event.isError ? " err" : ""), (event.isError ? "✗ " : "✓ ") + event.name + " (" + event.durationMs + " ms) " + short(event.output, 600));
  else if (event.type === "error") add("status", "error " + event.code + ": " + event.message);
  else if (event.type === "done") add("status", "done: " + event.reason);
}
function blocksOf(content) {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}
async function history() {
  const res = await fetch("/chat");
  if (!res.ok) return;
  const { messages } = await res.json();
  for (const m of messages) {
    for (const b of blocksOf(m.content)) {
      if (b.type === "text") add("msg " + m.role, b.text);
      else if (b.type === "tool_use") add("tool", "→ " + b.name + " " + short(JSON.stringify(b.input), 300));
    }
  }
}
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const message = box.value;
  if (!message.trim()) return;
  add("msg user", message);
  box.value = "";
  send.disabled = true;
  try {
    const res = await fetch("/chat", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message }) });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      add("status", (body.error && body.error.message) || "HTTP " + res.status);
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\\n\\n")) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split("\\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\\n");
        if (data) show(JSON.parse(data));
      }
    }
  } catch (err) {
    add("status", "connection lost: " + err);
  } finally {
    send.disabled = false;
  }
});
history();
</script>
</body></html>
`;
}
