import { z } from "zod";
import { defineTool, ToolError } from "../tool.ts";
import { DEFAULT_LIMITS, splitLines } from "../truncate.ts";
import { resolveInWorkspace } from "./paths.ts";
import { readTextFile } from "./text-file.ts";

export const DEFAULT_READ_LIMIT = 2000;
/** Longer lines (minified code, data) are cut so one line cannot eat the whole output budget. */
const MAX_LINE_CHARS = 2000;
/** Stay under the registry's byte limit so it never cuts our output without our precise continuation note. */
const BYTE_BUDGET = DEFAULT_LIMITS.maxBytes - 512;

const ReadFileInput = z.strictObject({
  path: z.string().min(1).describe("File path relative to the workspace root, e.g. src/agent/loop.ts"),
  offset: z.number().int().min(1).optional().describe("1-based line number to start from (default 1)"),
  limit: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(`Maximum number of lines to return (default ${DEFAULT_READ_LIMIT})`),
});

export const readFileTool = defineTool({
  name: "read_file",
  description:
    "Read a text file in the workspace; lines come back numbered like `cat -n` (number, tab, text — the number is not part of the file). " +
    `Long files are returned ${DEFAULT_READ_LIMIT} lines at a time: the note at the end says which lines you got and the offset to continue from. ` +
    "Read a file before editing it, and copy text for edit_file from this output without the line-number prefix.",
  input: ReadFileInput,
  effect: "read",
  timeoutMs: 30_000,
  truncate: "head",
  async run(input, ctx) {
    const file = await resolveInWorkspace(ctx.workspace, input.path, "read");
    const lines = splitLines(await readTextFile(file));
    const total = lines.length;
    if (total === 0)
      return {
        content: `${file.relative} is empty (0 lines)`,
        details: { path: file.relative, totalLines: 0 },
      };
    const from = input.offset ?? 1;
    if (from > total) {
      throw new ToolError(
        "OFFSET_PAST_END",
        `offset ${from} is past the end of ${file.relative}, which has ${total} lines; use an offset from 1 to ${total}`,
      );
    }
    const wantedTo = Math.min(total, from - 1 + (input.limit ?? DEFAULT_READ_LIMIT));
    const out: string[] = [];
    let bytes = 0;
    let to = from - 1;
    for (let n = from; n <= wantedTo; n++) {
      const text = lines[n - 1]!;
      const shown =
        text.length > MAX_LINE_CHARS
          ? `${text.slice(0, MAX_LINE_CHARS)} … [line cut: ${text.length} chars]`
          : text;
      const row = `${String(n).padStart(6)}\t${shown}`;
      bytes += Buffer.byteLength(row) + 1;
      if (bytes > BYTE_BUDGET && out.length > 0) break;
      out.push(row);
      to = n;
    }
    let content = out.join("\n");
    if (from > 1 || to < total) {
      const next = to < total ? `; call read_file with offset=${to + 1} to continue` : "";
      content += `\n\n[lines ${from}–${to} of ${total} shown${next}]`;
    }
    return { content, details: { path: file.relative, totalLines: total, from, to } };
  },
});
