import { createHash } from "node:crypto";
import type { MessagesRequest } from "./request.ts";
import type { ScriptUsage } from "./script.ts";

/** The usage object of a Messages API response. */
export interface ApiUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** A deterministic stand-in for a tokenizer: about four characters per token, as for English text. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

interface Segment {
  readonly text: string;
  readonly breakpoint: boolean;
}

/**
 * The request as the API caches it: tools, then system, then message blocks, in order. A block
 * with cache_control ends a cacheable prefix; the marker itself is left out of the text so adding
 * it does not change what is cached.
 */
function segments(request: MessagesRequest): Segment[] {
  const out: Segment[] = [];
  const push = (block: unknown): void => {
    if (typeof block === "object" && block !== null && !Array.isArray(block)) {
      const { cache_control, ...rest } = block as Record<string, unknown>;
      out.push({
        text: JSON.stringify(rest),
        breakpoint: cache_control !== undefined && cache_control !== null,
      });
    } else {
      out.push({ text: JSON.stringify(block), breakpoint: false });
    }
  };
  for (const tool of request.tools ?? []) push(tool);
  // A string is shorthand for one text block; the API caches both forms alike.
  if (typeof request.system === "string") push({ type: "text", text: request.system });
  else for (const block of request.system ?? []) push(block);
  for (const message of request.messages) {
    push(message.role);
    if (typeof message.content === "string") push({ type: "text", text: message.content });
    else for (const block of message.content) push(block);
  }
  return out;
}

/**
 * Simulates prompt caching honestly but simply: the longest cache_control-ended prefix seen in an
 * earlier request is read from cache; the rest up to the last breakpoint is written; everything after
 * it is plain input. (The real API also has a minimum cacheable size and a TTL; this does not.)
 */
export class CacheSimulator {
  readonly #seen = new Set<string>();

  usageFor(request: MessagesRequest, outputText: string, override: ScriptUsage | undefined): ApiUsage {
    const parts = segments(request);
    let text = "";
    let read = 0;
    let lastBreakpoint = 0;
    const prefixes: string[] = [];
    const boundaries: { key: string; tokens: number }[] = [];
    const hash = createHash("sha256");
    for (const part of parts) {
      text += part.text;
      hash.update(part.text);
      const key = hash.copy().digest("hex");
      const tokens = estimateTokens(text);
      boundaries.push({ key, tokens });
      if (!part.breakpoint) continue;
      prefixes.push(key);
      lastBreakpoint = tokens;
    }
    // Like the API, a breakpoint also finds hits at earlier block boundaries (its look-back), so a
    // conversation cached at its last message one call is read back the next, when that message is
    // no longer last.
    for (const b of boundaries)
      if (b.tokens <= lastBreakpoint && this.#seen.has(b.key)) read = Math.max(read, b.tokens);
    for (const key of prefixes) this.#seen.add(key);
    const total = estimateTokens(text);
    const estimate: ApiUsage = {
      input_tokens: total - lastBreakpoint,
      output_tokens: Math.max(1, estimateTokens(outputText)),
      cache_creation_input_tokens: lastBreakpoint - read,
      cache_read_input_tokens: read,
    };
    return { ...estimate, ...override };
  }
}
