import type { AgentEvent } from "../shared/events.ts";

const oneLine = (s: string, max = 160): string => {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** Renders agent events as terminal lines for `loom run` (people read these, the model never does). */
export function formatEvent(event: AgentEvent): string {
  switch (event.type) {
    case "turn_start":
      return `── turn ${event.turn} (${event.at})`;
    case "model_call": {
      const u = event.usage;
      return `· model ${event.model} #${event.iteration}: ${event.stopReason ?? "?"} in ${event.durationMs} ms (in ${u.input}, out ${u.output}, cache r/w ${u.cacheRead}/${u.cacheWrite})`;
    }
    case "text":
      return event.text;
    case "tool_start":
      return `→ ${event.name} ${oneLine(JSON.stringify(event.input) ?? "")}`;
    case "tool_end":
      return `${event.isError ? "✗" : "✓"} ${event.name} (${event.durationMs} ms) ${oneLine(event.output)}`;
    case "done": {
      const u = event.usage;
      return `── done: ${event.reason} after ${event.iterations} model calls; tokens in ${u.input}, out ${u.output}, cache r/w ${u.cacheRead}/${u.cacheWrite}`;
    }
    case "error":
      return `error [${event.code}]: ${event.message}`;
  }
}
