import type { Tool } from "./tool.ts";
import { toolManifest } from "./tool-manifest.ts";

/**
 * `loom tool`'s lookups. The manifest's tools load their code on the first call, so finding
 * `read_file` does not pay for ts-morph.
 */
export async function findTool(name: string): Promise<Tool | undefined> {
  return toolManifest.find((t) => t.name === name);
}

export async function loadAllTools(): Promise<Tool[]> {
  return [...toolManifest];
}
