import { promises as fs } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { defineTool, ToolError } from "../tool.ts";
import { resolveInWorkspace } from "./paths.ts";

const WriteFileInput = z.strictObject({
  path: z
    .string()
    .min(1)
    .describe("File path relative to the workspace root; missing parent directories are created"),
  content: z.string().describe("The complete new content of the file"),
});

export const writeFileTool = defineTool({
  name: "write_file",
  description:
    "Create a file, or replace a file's entire content, in the workspace (parent directories are created; the write is atomic). " +
    "For a change to part of an existing file use edit_file instead: rewriting a whole file risks dropping lines you did not mean to touch.",
  input: WriteFileInput,
  effect: "edit",
  timeoutMs: 30_000,
  async run(input, ctx) {
    const file = await resolveInWorkspace(ctx.workspace, input.path, "write");
    const before = await fs.stat(file.absolute).catch(() => undefined);
    if (before?.isDirectory()) {
      throw new ToolError(
        "IS_DIRECTORY",
        `${file.relative} is a directory; give the path of a file to write`,
      );
    }
    const parent = path.dirname(file.absolute);
    await fs.mkdir(parent, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EEXIST" || err.code === "ENOTDIR") {
        throw new ToolError(
          "PARENT_NOT_DIRECTORY",
          `cannot create ${file.relative}: a parent path is a file, not a directory`,
        );
      }
      throw err;
    });
    await atomicWriteFile(file.absolute, input.content);
    const bytes = Buffer.byteLength(input.content);
    const content = before
      ? `overwrote ${file.relative} (${bytes} bytes; was ${before.size} bytes)`
      : `created ${file.relative} (${bytes} bytes)`;
    return {
      content,
      details: { path: file.relative, bytes, created: !before, previousBytes: before?.size ?? null },
    };
  },
});
