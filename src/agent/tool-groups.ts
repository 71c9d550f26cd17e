import type { Tool } from "./tool.ts";

/**
 * The same tools as `catalog.ts`, loaded group by group on demand, so `loom tool read_file` does not
 * pay for ts-morph. A test keeps the two lists equal.
 */
const groups: readonly (() => Promise<readonly Tool[]>)[] = [
  () => import("./tools/base.ts").then((m) => m.baseTools),
  () => import("./tools/eval.ts").then((m) => [m.evalTool as unknown as Tool]),
  () => import("./ts/index.ts").then((m) => m.tsTools),
];

/** Loads groups in order (cheapest first) until one has `name`. */
export async function findTool(name: string): Promise<Tool | undefined> {
  for (const load of groups) {
    const found = (await load()).find((t) => t.name === name);
    if (found) return found;
  }
  return undefined;
}

export async function loadAllTools(): Promise<Tool[]> {
  return (await Promise.all(groups.map((load) => load()))).flat();
}
