import type { TruncateFrom } from "./tool.ts";

/**
 * Central truncation of what the model sees. Long output is cut by lines and by bytes (a single minified
 * line can be megabytes), keeping the head or the tail, and always says what was cut and how to get the
 * rest: a silent cut makes the model reason about text it never saw.
 */

export interface TruncateLimits {
  readonly maxLines: number;
  readonly maxBytes: number;
}

export const DEFAULT_LIMITS: TruncateLimits = { maxLines: 2000, maxBytes: 50 * 1024 };

export interface Truncated {
  readonly content: string;
  readonly truncated: boolean;
}

/** Output already dropped before truncation (e.g. by a bounded output buffer), counted into the note. */
export interface Dropped {
  readonly lines: number;
  readonly bytes: number;
}

const SLACK_LINES = 10;
const HEAD_HINT = "the rest was cut; ask for less (a narrower range, a filter, or a more specific query)";
const TAIL_HINT =
  "earlier output was cut; rerun with output redirected to a file and read_file it, or filter with grep/head/tail";

export function truncateOutput(
  text: string,
  from: TruncateFrom = "head",
  limits: TruncateLimits = DEFAULT_LIMITS,
  dropped: Dropped = { lines: 0, bytes: 0 },
): Truncated {
  const lines = splitLines(text);
  // Cutting a handful of lines to add a note about them helps nobody (and spares tools' own trailing notes).
  if (
    dropped.bytes === 0 &&
    lines.length <= limits.maxLines + SLACK_LINES &&
    Buffer.byteLength(text) <= limits.maxBytes
  ) {
    return { content: text, truncated: false };
  }
  const kept = from === "head" ? keepHead(lines, limits) : keepTail(lines, limits);
  if (kept.lines === lines.length && !kept.partialLine && dropped.bytes === 0) {
    return { content: text, truncated: false };
  }
  const total = lines.length + dropped.lines;
  const byBytes = kept.lines < Math.min(lines.length, limits.maxLines) || kept.partialLine;
  const limit = byBytes ? ` (${formatBytes(limits.maxBytes)} limit)` : "";
  const shownCount = kept.partialLine ? `part of ${Math.max(kept.lines, 1)}` : String(kept.lines);
  if (from === "head") {
    const note = `[output truncated: showing first ${shownCount} of ${total} lines${limit}; ${HEAD_HINT}]`;
    return { content: `${kept.text}\n\n${note}`, truncated: true };
  }
  const note = `[output truncated: showing last ${shownCount} of ${total} lines${limit}; ${TAIL_HINT}]`;
  return { content: `${note}\n\n${kept.text}`, truncated: true };
}

/** Lines without their terminators; a trailing newline does not count as an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

interface Kept {
  text: string;
  /** Whole lines kept. */
  lines: number;
  /** A line longer than the byte limit was cut inside itself. */
  partialLine: boolean;
}

function keepHead(lines: readonly string[], limits: TruncateLimits): Kept {
  const out: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    if (out.length >= limits.maxLines) break;
    const size = Buffer.byteLength(line) + 1;
    if (bytes + size > limits.maxBytes) {
      if (out.length === 0)
        return { text: sliceBytes(line, limits.maxBytes, "head"), lines: 0, partialLine: true };
      break;
    }
    out.push(line);
    bytes += size;
  }
  return { text: out.join("\n"), lines: out.length, partialLine: false };
}

function keepTail(lines: readonly string[], limits: TruncateLimits): Kept {
  const out: string[] = [];
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (out.length >= limits.maxLines) break;
    const line = lines[i]!;
    const size = Buffer.byteLength(line) + 1;
    if (bytes + size > limits.maxBytes) {
      if (out.length === 0)
        return { text: sliceBytes(line, limits.maxBytes, "tail"), lines: 0, partialLine: true };
      break;
    }
    out.push(line);
    bytes += size;
  }
  return { text: out.reverse().join("\n"), lines: out.length, partialLine: false };
}

/** At most `max` bytes of one end of `s`, never splitting a UTF-8 character. */
function sliceBytes(s: string, max: number, from: TruncateFrom): string {
  const buf = Buffer.from(s);
  if (from === "head") {
    let end = Math.min(max, buf.length);
    while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
    return buf.subarray(0, end).toString();
  }
  let start = Math.max(0, buf.length - max);
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString();
}
