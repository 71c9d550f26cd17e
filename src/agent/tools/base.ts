import { type Tool, withProperties } from "../tool.ts";
import { bashTool as bash } from "./bash.ts";
import { editFileTool as editFile } from "./edit-file.ts";
import { readFileTool as readFile } from "./read-file.ts";
import { writeFileTool as writeFile } from "./write-file.ts";

const pathField = (input: { readonly path: string }) => input.path;

/** read_file: the Lab's and Prime's; its path is confined to the workspace by the registry. */
export const readFileTool = withProperties(readFile, {
  roles: ["lab", "prime"],
  confine: { access: "read", path: pathField },
});
/** Writes are confined too, and refused under schemas/ (the fixed points). */
export const writeFileTool = withProperties(writeFile, {
  roles: ["lab"],
  confine: { access: "write", path: pathField },
});
export const editFileTool = withProperties(editFile, {
  roles: ["lab"],
  confine: { access: "write", path: pathField },
});
/** Not confined: the container is bash's boundary. */
export const bashTool = withProperties(bash, { roles: ["lab"] });

/** The four general tools every agent gets: read, write and edit workspace files, and run commands. */
export const baseTools: readonly Tool[] = [readFileTool, writeFileTool, editFileTool, bashTool];
