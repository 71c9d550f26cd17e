import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

/**
 * A process that starts a local container and exits at once must not leave it behind: bubblewrap's
 * --die-with-parent is armed only milliseconds after bwrap starts, too late for such an exit.
 */

const RUNS = 16;
const root = path.resolve(import.meta.dirname, "../../..");
let dir: string | undefined;

async function survivors(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(marker)) found.push(Number(pid));
  }
  return found;
}

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== "linux")(
  "local containers end with the process that started them",
  () => {
    it(`leaves nothing running when its starter exits right after run() (${RUNS} tries)`, async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-local-exit-"));
      // A number no other process has in its command line.
      const marker = String(700_000 + Math.floor(Math.random() * 99_999));
      const script = path.join(dir, "start-and-exit.mts");
      await fs.writeFile(
        script,
        `import { LocalRuntime } from ${JSON.stringify(path.join(root, "src/supervisor/runtime/local.ts"))};
const rt = new LocalRuntime({ stateDir: process.argv[2] as string });
await rt.run({ image: "none", command: ["sleep", "${marker}"], network: "none", labels: { "loom.test": "local-exit" } });
process.exit(0);
`,
      );
      // Bundled once, so each of the runs is a plain node start (through tsx each took ~1 s of CPU).
      const bundle = path.join(root, "node_modules", ".cache", `loom-local-exit-${marker}.mjs`);
      await build({
        entryPoints: [script],
        outfile: bundle,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        packages: "external",
        logLevel: "silent",
      });
      try {
        for (let i = 0; i < RUNS; i++) {
          await execa(process.execPath, [bundle, path.join(dir, `state-${i}`)], { cwd: root });
        }
      } finally {
        await fs.rm(bundle, { force: true });
      }
      // Anything still there a moment later was left for good.
      await new Promise((r) => setTimeout(r, 500));
      const left = await survivors(marker);
      for (const pid of left) process.kill(pid, "SIGKILL");
      expect(left, "sandboxes left running after their starter exited").toEqual([]);
    }, 120_000);
  },
);
