import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { localLabEntry } from "../../src/supervisor/lifecycle/local-lab-entry.ts";

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
});

const OLD = new Date("2026-01-01T00:00:00Z");
const NEW = new Date("2026-01-02T00:00:00Z");

/** A checkout with sources, a worker source and a Lab bundle built (per its metafile) from them. */
async function checkout(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), "loom-entry-"));
  roots.push(root);
  const files: Record<string, string> = {
    "bin/loom.js": "// sources\n",
    "src/entries/lab.ts": "export {};\n",
    "src/lab/run-lab.ts": "export {};\n",
    "lab-runtime/eval/worker/main.ts": "export {};\n",
    "dist/lab.mjs": "// bundle\n",
    "dist/chunks/lab-run-lab-X.mjs": "// chunk\n",
    "dist/lab.meta.json": JSON.stringify({
      inputs: {
        "src/entries/lab.ts": {},
        "src/lab/run-lab.ts": {},
        "node_modules/zod/index.js": {},
      },
      outputs: { "dist/lab.mjs": {}, "dist/lab.mjs.map": {}, "dist/chunks/lab-run-lab-X.mjs": {} },
    }),
  };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
    await utimes(path.join(root, rel), OLD, rel.startsWith("dist/") ? NEW : OLD);
  }
  return root;
}

describe("localLabEntry (what a local Lab runs)", () => {
  it("runs the bundle when no source is newer than it and its chunks exist", async () => {
    const root = await checkout();
    expect(localLabEntry(root)).toBe(path.join(root, "dist", "lab.mjs"));
  });

  it("runs the sources once a bundled source changed after the build", async () => {
    const root = await checkout();
    const later = new Date(NEW.getTime() + 1000);
    await utimes(path.join(root, "src/lab/run-lab.ts"), later, later);
    expect(localLabEntry(root)).toBe(path.join(root, "bin", "loom.js"));
  });

  it("runs the sources once the embedded eval worker's source changed", async () => {
    const root = await checkout();
    const later = new Date(NEW.getTime() + 1000);
    await utimes(path.join(root, "lab-runtime/eval/worker/main.ts"), later, later);
    expect(localLabEntry(root)).toBe(path.join(root, "bin", "loom.js"));
  });

  it("runs the sources when a bundled source is gone, a chunk is missing, or nothing was built", async () => {
    const gone = await checkout();
    await rm(path.join(gone, "src/lab/run-lab.ts"));
    expect(localLabEntry(gone)).toBe(path.join(gone, "bin", "loom.js"));

    const chunkless = await checkout();
    await rm(path.join(chunkless, "dist/chunks/lab-run-lab-X.mjs"));
    expect(localLabEntry(chunkless)).toBe(path.join(chunkless, "bin", "loom.js"));

    const unbuilt = await checkout();
    await rm(path.join(unbuilt, "dist"), { recursive: true });
    expect(localLabEntry(unbuilt)).toBe(path.join(unbuilt, "bin", "loom.js"));

    const broken = await checkout();
    await writeFile(path.join(broken, "dist/lab.meta.json"), "{not json");
    expect(localLabEntry(broken)).toBe(path.join(broken, "bin", "loom.js"));
  });
});
