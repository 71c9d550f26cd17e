import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ToolRegistry } from "../../../src/agent/tool-registry.ts";
import { baseTools } from "../../../src/agent/tools/base.ts";

/** A real temp directory as the workspace plus the base tools behind the real registry. */
export async function tempWorkspace(prefix = "loom-tools-") {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  const registry = new ToolRegistry(baseTools);
  return {
    root,
    registry,
    run: (name: string, input: unknown, signal: AbortSignal = new AbortController().signal) =>
      registry.execute(name, input, { workspace: root, signal }),
    write: async (rel: string, text: string | Uint8Array) => {
      await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await fs.writeFile(path.join(root, rel), text);
    },
    read: (rel: string) => fs.readFile(path.join(root, rel), "utf8"),
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
}

export type TempWorkspace = Awaited<ReturnType<typeof tempWorkspace>>;
