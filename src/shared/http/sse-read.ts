import type { z } from "zod";
import { formatIssues } from "../zod-issues.ts";

export interface SseHandlers<T> {
  /** Each frame whose data parses with the schema. */
  readonly event: (event: T) => void;
  /** A frame whose data is not JSON or not one of the schema's events: said why, then skipped. */
  readonly invalid: (problem: string) => void;
}

const snippet = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 120 ? `${flat.slice(0, 119)}…` : flat;
};

/** The JSON `data` of one SSE frame parsed with `schema`, or why it cannot be. */
export function parseSseData<S extends z.ZodType>(
  data: string,
  schema: S,
): { ok: true; event: z.infer<S> } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, problem: `an event is not JSON, skipped: ${snippet(data)}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issues = formatIssues(parsed.error, { root: "(event)", limit: 3 });
  return { ok: false, problem: `an event does not match its schema (${issues}), skipped: ${snippet(data)}` };
}

/**
 * Reads a server-sent event stream to its end, handing each frame's data parsed with `schema` (one of
 * schemas/events.ts) to `on.event`, and each frame that does not parse to `on.invalid`. Comments
 * (heartbeats) and frames without data are not events.
 */
export async function readSseEvents<S extends z.ZodType>(
  body: AsyncIterable<Uint8Array>,
  schema: S,
  on: SseHandlers<z.infer<S>>,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    const frames = buffered.split("\n\n");
    buffered = frames.pop() ?? "";
    for (const frame of frames) {
      const data = frame
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(l.startsWith("data: ") ? 6 : 5))
        .join("\n");
      if (data === "") continue;
      const result = parseSseData(data, schema);
      if (result.ok) on.event(result.event);
      else on.invalid(result.problem);
    }
  }
}
