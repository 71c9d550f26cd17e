import { cp, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { localLabEntry } from "../../src/supervisor/lifecycle/local-lab-entry.ts";

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
});

const LOOM_ROOT = fileURLToPath(new URL("../..", import.meta.url));
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

  it("runs the sources once the lockfile changed after the build (the packages it bundles)", async () => {
    const root = await checkout();
    const lock = path.join(root, "package-lock.json");
    await writeFile(lock, "{}\n");
    await utimes(lock, OLD, OLD);
    expect(localLabEntry(root)).toBe(path.join(root, "dist", "lab.mjs"));
    const later = new Date(NEW.getTime() + 1000);
    await utimes(lock, later, later);
    expect(localLabEntry(root)).toBe(path.join(root, "bin", "loom.js"));
  });
});

describe("bin/loom.js (what `npx loom` runs)", () => {
  /** A checkout with the real bin/ whose bundle and sources each say which ran. */
  async function cli(): Promise<string> {
    const root = await mkdtemp(path.join(tmpdir(), "loom-bin-"));
    roots.push(root);
    const files: Record<string, string> = {
      "package.json": JSON.stringify({ name: "loom", type: "module" }),
      "src/cli/main.ts":
        "export async function main(argv: string[]): Promise<number> {\n  console.log(['sources', ...argv].join(' '));\n  return 3;\n}\n",
      "dist/supervisor.mjs":
        "console.log(['bundle', ...process.argv.slice(2)].join(' '));\nprocess.exitCode = 4;\n",
      "dist/supervisor.meta.json": JSON.stringify({
        inputs: { "src/cli/main.ts": {} },
        outputs: { "dist/supervisor.mjs": {} },
      }),
    };
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await writeFile(path.join(root, rel), text);
      await utimes(path.join(root, rel), OLD, rel.startsWith("dist/") ? NEW : OLD);
    }
    await cp(path.join(LOOM_ROOT, "bin"), path.join(root, "bin"), { recursive: true });
    await symlink(path.join(LOOM_ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
    return root;
  }
  const run = (root: string) =>
    execa(process.execPath, [path.join(root, "bin", "loom.js"), "generations", "--json"], { reject: false });

  it("runs the built CLI when it is fresh, and the sources through tsx once a source is newer", async () => {
    const root = await cli();
    const fresh = await run(root);
    expect([fresh.stdout, fresh.exitCode]).toEqual(["bundle generations --json", 4]);
    const later = new Date(NEW.getTime() + 1000);
    await utimes(path.join(root, "src/cli/main.ts"), later, later);
    const stale = await run(root);
    expect([stale.stdout, stale.exitCode], stale.stderr).toEqual(["sources generations --json", 3]);
    await rm(path.join(root, "dist"), { recursive: true });
    const unbuilt = await run(root);
    expect([unbuilt.stdout, unbuilt.exitCode]).toEqual(["sources generations --json", 3]);
  });
});
