import { describe, expect, it } from "vitest";
import { PrimeLogEvent, SupervisorEvent } from "../../../schemas/events.ts";
import { readSseEvents } from "../../../src/shared/http/sse-read.ts";

async function* chunks(parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe("readSseEvents", () => {
  it("parses frames split across chunks, skips comments, and reports what is not an event of the schema", async () => {
    const at = "2026-12-06T08:00:00.000Z";
    const log = JSON.stringify({ type: "log", at, generation: 2, message: "one" });
    const events: unknown[] = [];
    const problems: string[] = [];
    await readSseEvents(
      chunks([
        `: keep-alive\n\ndata: ${log.slice(0, 10)}`,
        `${log.slice(10)}\n\ndata: [1,2]\n\n`,
        `data: ${JSON.stringify({ type: "lab_tool", at, generation: 2, tool: "bash", calls: -1 })}\n\n`,
        "data: nope\n\nevent: x\n\n",
      ]),
      SupervisorEvent,
      { event: (e) => events.push(e), invalid: (p) => problems.push(p) },
    );
    expect(events).toEqual([JSON.parse(log)]);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/does not match its schema .*skipped: \[1,2\]/);
    expect(problems[1]).toMatch(/does not match its schema \(.*calls.*\)/);
    expect(problems[2]).toBe("an event is not JSON, skipped: nope");
  });

  it("reads Prime's stream: agent events and its own log lines", async () => {
    const got: string[] = [];
    await readSseEvents(
      chunks([
        `data: ${JSON.stringify({ type: "text", text: "hi" })}\n\n`,
        `data: ${JSON.stringify({ type: "log", at: "2026-12-06T08:00:00.000Z", message: "prime: up" })}\n\n`,
      ]),
      PrimeLogEvent,
      { event: (e) => got.push(e.type), invalid: (p) => got.push(p) },
    );
    expect(got).toEqual(["text", "log"]);
  });
});
