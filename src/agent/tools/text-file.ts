import { promises as fs } from "node:fs";
import path from "node:path";
import { ToolError } from "../tool.ts";
import { formatBytes } from "../truncate.ts";
import type { WorkspacePath } from "./paths.ts";
import { similarNames } from "./similar-lines.ts";

/** Files larger than this are not loaded whole; the model is pointed at bash (sed -n, head, grep). */
export const MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024;
/** How much of the start is checked for NUL bytes to recognise binary files (as git and grep do). */
const BINARY_SNIFF_BYTES = 8192;
const LISTED_ENTRIES = 12;

/** Reads a workspace text file, turning every way that fails into a ToolError that says what to do instead. */
export async function readTextFile(file: WorkspacePath): Promise<string> {
  const stat = await fs.stat(file.absolute).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") throw new ToolError("FILE_NOT_FOUND", await notFoundMessage(file));
    throw err;
  });
  if (stat.isDirectory()) throw new ToolError("IS_DIRECTORY", await directoryMessage(file));
  if (!stat.isFile()) throw new ToolError("NOT_A_FILE", `${file.relative} is not a regular file`);
  if (stat.size > MAX_TEXT_FILE_BYTES) {
    throw new ToolError(
      "FILE_TOO_LARGE",
      `${file.relative} is ${formatBytes(stat.size)}, over the ${formatBytes(MAX_TEXT_FILE_BYTES)} this tool loads; ` +
        "look at parts of it with bash (grep -n, sed -n 'a,bp', head)",
    );
  }
  const data = await fs.readFile(file.absolute);
  if (data.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
    throw new ToolError(
      "BINARY_FILE",
      `${file.relative} is a binary file (${formatBytes(data.length)}); this tool handles text only — inspect it with bash (file, xxd | head)`,
    );
  }
  return data.toString("utf8");
}

async function notFoundMessage(file: WorkspacePath): Promise<string> {
  const dir = path.dirname(file.absolute);
  const entries = await fs.readdir(dir).catch(() => undefined);
  if (!entries) return `${file.relative} does not exist (nor does its directory ${parentOf(file.relative)})`;
  const near = similarNames(path.basename(file.absolute), entries);
  const hint =
    near.length > 0
      ? `; did you mean ${near.map((n) => joinRel(parentOf(file.relative), n)).join(", ")}?`
      : "";
  return `${file.relative} does not exist${hint}`;
}

async function directoryMessage(file: WorkspacePath): Promise<string> {
  const entries = await fs.readdir(file.absolute, { withFileTypes: true }).catch(() => []);
  const names = entries
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort()
    .slice(0, LISTED_ENTRIES);
  const more = entries.length > LISTED_ENTRIES ? `, … (${entries.length} entries)` : "";
  const listing = entries.length === 0 ? "it is empty" : `it contains ${names.join(", ")}${more}`;
  return `${file.relative} is a directory, not a file; ${listing}. Give a file path, or list with bash (ls, find)`;
}

function parentOf(relative: string): string {
  const parent = path.posix.dirname(relative);
  return parent === "." ? "." : parent;
}

function joinRel(parent: string, name: string): string {
  return parent === "." ? name : `${parent}/${name}`;
}
