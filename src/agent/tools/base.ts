import type { Tool } from "../tool.ts";
import { bashTool } from "./bash.ts";
import { editFileTool } from "./edit-file.ts";
import { readFileTool } from "./read-file.ts";
import { writeFileTool } from "./write-file.ts";

/** The four general tools every agent gets: read, write and edit workspace files, and run commands. */
export const baseTools: readonly Tool[] = [readFileTool, writeFileTool, editFileTool, bashTool];

export { bashTool, editFileTool, readFileTool, writeFileTool };
