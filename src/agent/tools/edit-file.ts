import { z } from "zod";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { defineTool, ToolError } from "../tool.ts";
import { splitLines } from "../truncate.ts";
import { resolveInWorkspace } from "./paths.ts";
import { numberLines, similarWindows } from "./similar-lines.ts";
import { readTextFile } from "./text-file.ts";

const CONTEXT_LINES = 3;
const MAX_SNIPPET_LINES = 40;

const EditFileInput = z.strictObject({
  path: z.string().min(1).describe("File path relative to the workspace root"),
  old_str: z
    .string()
    .describe("Exact text to replace, including whitespace and indentation; must occur exactly once"),
  new_str: z.string().describe("Text to put in its place (empty to delete old_str)"),
});

export const editFileTool = defineTool({
  name: "edit_file",
  description:
    "Replace one exact occurrence of old_str with new_str in a workspace file. old_str must match the file character for character " +
    "(indentation included, no line-number prefixes) and occur exactly once — include a few surrounding lines to make it unique. " +
    "On a miss the error shows the most similar lines; copy from them rather than retyping.",
  input: EditFileInput,
  effect: "edit",
  timeoutMs: 30_000,
  async run(input, ctx) {
    if (input.old_str === "") {
      throw new ToolError(
        "EMPTY_OLD_STR",
        "old_str is empty; give the exact text to replace (to create a file, use write_file)",
      );
    }
    if (input.old_str === input.new_str) {
      throw new ToolError(
        "NO_CHANGE",
        "old_str and new_str are identical, so the edit would change nothing; give the new text in new_str",
      );
    }
    const file = await resolveInWorkspace(ctx.workspace, input.path, "write");
    const text = await readTextFile(file);
    let oldStr = input.old_str;
    let newStr = input.new_str;
    let matches = findAll(text, oldStr);
    // Models write \n; a CRLF file would otherwise never match.
    if (matches.length === 0 && text.includes("\r\n") && !oldStr.includes("\r\n")) {
      oldStr = oldStr.replace(/\n/g, "\r\n");
      newStr = newStr.replace(/\r?\n/g, "\r\n");
      matches = findAll(text, oldStr);
    }
    if (matches.length === 0)
      throw new ToolError("NO_MATCH", noMatchMessage(file.relative, text, input.old_str));
    if (matches.length > 1) {
      const lines = matches.map((i) => lineAt(text, i));
      throw new ToolError(
        "MULTIPLE_MATCHES",
        `old_str occurs ${matches.length} times in ${file.relative} (at lines ${lines.join(", ")}); ` +
          "include more surrounding lines in old_str so it matches exactly once",
      );
    }
    const at = matches[0]!;
    const updated = text.slice(0, at) + newStr + text.slice(at + oldStr.length);
    await atomicWriteFile(file.absolute, updated);
    const firstLine = lineAt(text, at);
    const oldLines = countLines(oldStr);
    const newLines = countLines(newStr);
    const snippet = snippetAround(updated, firstLine, newLines);
    const range = (n: number) => (n <= 1 ? `line ${firstLine}` : `lines ${firstLine}–${firstLine + n - 1}`);
    return {
      content: `edited ${file.relative}: replaced ${range(oldLines)} (now ${range(newLines)}). Result:\n${snippet}`,
      details: { path: file.relative, line: firstLine, removedLines: oldLines, addedLines: newLines },
    };
  },
});

/** Start offsets of non-overlapping occurrences. */
function findAll(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) found.push(i);
  return found;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < index; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function countLines(s: string): number {
  return s === "" ? 0 : s.split("\n").length - (s.endsWith("\n") ? 1 : 0);
}

function snippetAround(text: string, firstLine: number, changedLines: number): string {
  const lines = splitLines(text).map((l) => l.replace(/\r$/, ""));
  const start = Math.max(1, firstLine - CONTEXT_LINES);
  const end = Math.min(lines.length, firstLine + Math.max(changedLines, 1) - 1 + CONTEXT_LINES);
  const shown = lines.slice(start - 1, Math.min(end, start - 1 + MAX_SNIPPET_LINES));
  const cut = end - start + 1 > shown.length ? `\n  … (${end - start + 1 - shown.length} more lines)` : "";
  return numberLines(shown, start) + cut;
}

function noMatchMessage(relative: string, text: string, oldStr: string): string {
  const lines = splitLines(text).map((l) => l.replace(/\r$/, ""));
  const near = similarWindows(lines, oldStr);
  const head = `old_str was not found in ${relative} (0 matches; it must match exactly, whitespace included).`;
  if (near.length === 0)
    return `${head} No similar lines either — read the file with read_file and copy the text to change.`;
  const exactModuloSpace = near[0]!.score === 1;
  const lead = exactModuloSpace
    ? ` It matches at line ${near[0]!.line} if whitespace is ignored — copy the exact indentation from there:`
    : " The most similar lines in the file:";
  const shown = near.map((w) => numberLines(w.lines.slice(0, 12), w.line)).join("\n  ---\n");
  return `${head}${lead}\n${shown}`;
}
