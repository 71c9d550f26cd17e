import type { AgentEvent } from "../../shared/events.ts";

/** What GET /logs streams: every agent event of every chat turn, and Prime's own log lines. */
export type PrimeLogEvent =
  | AgentEvent
  | { readonly type: "log"; readonly at: string; readonly message: string };

export const logLine = (message: string): PrimeLogEvent => ({
  type: "log",
  at: new Date().toISOString(),
  message,
});
