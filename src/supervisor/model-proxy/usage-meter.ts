import type { Usage } from "../../../schemas/usage.ts";

/** What one response reported: its usage and the model that answered (when the body said). */
export interface MeteredUsage {
  readonly usage: Usage;
  readonly model: string | undefined;
}

/** The JSON part of a response kept for metering; a Messages response is far below this. */
const MAX_METERED_JSON_BYTES = 64 * 1024 * 1024;

type ApiUsage = Record<string, unknown>;

const count = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined;

/** Later reports overwrite earlier ones field by field: a stream's message_delta counts are cumulative. */
function merge(into: Partial<Record<keyof Usage, number>>, raw: unknown): void {
  if (typeof raw !== "object" || raw === null) return;
  const u = raw as ApiUsage;
  const fields: [keyof Usage, unknown][] = [
    ["input", u.input_tokens],
    ["output", u.output_tokens],
    ["cacheRead", u.cache_read_input_tokens],
    ["cacheWrite", u.cache_creation_input_tokens],
  ];
  for (const [key, value] of fields) {
    const n = count(value);
    if (n !== undefined) into[key] = n;
  }
}

const asUsage = (u: Partial<Record<keyof Usage, number>>): Usage => ({
  input: u.input ?? 0,
  output: u.output ?? 0,
  cacheRead: u.cacheRead ?? 0,
  cacheWrite: u.cacheWrite ?? 0,
});

/**
 * Reads usage out of a response as it passes through, without holding up the bytes: a JSON
 * Messages response is parsed at its end, a stream (SSE) event by event.
 */
export class UsageMeter {
  readonly #stream: boolean;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #pending = "";
  #seen = false;
  #model: string | undefined;
  readonly #usage: Partial<Record<keyof Usage, number>> = {};

  constructor(contentType: string | null) {
    this.#stream = (contentType ?? "").toLowerCase().startsWith("text/event-stream");
  }

  push(chunk: Uint8Array): void {
    if (!this.#stream) {
      this.#size += chunk.length;
      if (this.#size <= MAX_METERED_JSON_BYTES) this.#chunks.push(Buffer.from(chunk));
      return;
    }
    this.#pending += Buffer.from(chunk).toString("utf8");
    const lines = this.#pending.split(/\r?\n/);
    this.#pending = lines.pop() ?? "";
    for (const line of lines) this.#line(line);
  }

  /** The usage the response reported, or undefined when it reported none (or was not parseable). */
  finish(): MeteredUsage | undefined {
    if (this.#stream) {
      if (this.#pending) this.#line(this.#pending);
      this.#pending = "";
    } else if (this.#size <= MAX_METERED_JSON_BYTES) {
      try {
        this.#event(JSON.parse(Buffer.concat(this.#chunks).toString("utf8")));
      } catch {
        // Not JSON: nothing to count (the client will report the bad body itself).
      }
    }
    return this.#seen ? { usage: asUsage(this.#usage), model: this.#model } : undefined;
  }

  #line(line: string): void {
    if (!line.startsWith("data:")) return;
    try {
      this.#event(JSON.parse(line.slice(5)));
    } catch {
      // A data line that is not JSON carries no usage.
    }
  }

  #event(value: unknown): void {
    if (typeof value !== "object" || value === null) return;
    const event = value as Record<string, unknown>;
    // A whole Message (JSON response) or a stream's message_start carries the model and first counts.
    const message =
      event.type === "message_start" ? (event.message as Record<string, unknown> | undefined) : event;
    if (message && typeof message === "object" && "usage" in message) {
      if (typeof message.model === "string") this.#model = message.model;
      this.#seen = true;
      merge(this.#usage, message.usage);
    }
    if (event.type === "message_delta" && "usage" in event) {
      this.#seen = true;
      merge(this.#usage, event.usage);
    }
  }
}
