import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Config, loadConfig } from "../../src/shared/config.ts";
import type { GenerationStore } from "../../src/supervisor/store/index.ts";
import { commitFiles, labBranch, sh } from "./git-repo-fixture.ts";
import { passedVerification } from "./passed-verification.ts";

/**
 * A stand-in Loom for the Supervisor's Prime tests: a real node program implementing
 * `prime --port P --host H --repo R --state S --supervisor U` with GET /health, so the restart and
 * revert mechanism is tested apart from the real Prime. /health tells what the test must check: the
 * version (which commit's code runs), the commit of the checkout it runs from, the environment names,
 * a package from the repo's node_modules, and how its folders are mounted.
 */
export function fakeLoom(version: string): string {
  return `#!/usr/bin/env node
import { execFileSync } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const VERSION = ${JSON.stringify(version)};
const [command, ...rest] = process.argv.slice(2);
if (command !== "prime") {
  console.error("fake loom: unknown command " + command);
  process.exit(2);
}
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, "")] = rest[i + 1];
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
let commit = null;
try {
  commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
} catch {}
let dep = null;
try {
  dep = (await import("fake-dep")).dep;
} catch (err) {
  dep = "missing: " + err.message;
}
/** How a folder is mounted (from /proc/self/mountinfo): "ro", "rw", or null when it is no mount point. */
function mountOf(dir) {
  try {
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\\n")) {
      const f = line.split(" ");
      if (f[4] === dir) return f[5].split(",")[0];
    }
  } catch {}
  return null;
}
appendFileSync(path.join(args.state, "starts.log"), VERSION + " " + commit + "\\n");
let tmpWritable = true;
try {
  writeFileSync(path.join(os.tmpdir(), "fake-prime-probe"), "x");
} catch {
  tmpWritable = false;
}
const server = http.createServer((req, res) => {
  if (req.url === "/crash") {
    console.error("fake loom: crashing on request");
    res.end("bye", () => process.exit(7));
    return;
  }
  if (req.url !== "/health") {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({
    ok: true,
    version: VERSION,
    commit,
    root,
    dep,
    uid: process.getuid(),
    tmpWritable,
    args,
    env: Object.keys(process.env).sort(),
    mounts: { repo: mountOf(args.repo), code: mountOf(root), state: mountOf(args.state) },
  }));
});
server.listen(Number(args.port), args.host, () => console.log("fake prime " + VERSION + " listening on " + args.port));
process.on("SIGTERM", () => process.exit(0));
`;
}

/** A Loom whose Prime dies at start: what a bad promotion would bring. */
export const BROKEN_LOOM = `#!/usr/bin/env node
console.error("fake loom: broken on purpose");
process.exit(3);
`;

export interface PrimeFixture {
  readonly root: string;
  readonly repo: string;
  readonly stateDir: string;
  config(env?: Record<string, string>): Config;
  /** A verifying generation with `files` committed on lab/gen-N and a passed verification. */
  verifiedGeneration(store: GenerationStore, files: Record<string, string>): Promise<number>;
  cleanup(): Promise<void>;
}

/**
 * A repo that is a Loom checkout (package.json named "loom", bin/loom.js = fakeLoom("v1")) with a
 * package in its gitignored node_modules, and the state dir inside it, as by default.
 */
export async function makePrimeFixture(options: { name?: string } = {}): Promise<PrimeFixture> {
  const root = await mkdtemp(path.join(tmpdir(), "loom-prime-"));
  const repo = path.join(root, "repo");
  const stateDir = path.join(repo, ".loom");
  await mkdir(repo);
  await sh(repo, ["init", "-q", "-b", "main"]);
  await commitFiles(
    repo,
    {
      "package.json": `${JSON.stringify({ name: options.name ?? "loom", type: "module", private: true }, null, 2)}\n`,
      "bin/loom.js": fakeLoom("v1"),
      "schemas/thing.ts": "export const thing = 1;\n",
      ".gitignore": "node_modules/\n.loom/\n",
    },
    "initial",
  );
  const dep = path.join(repo, "node_modules", "fake-dep");
  await mkdir(dep, { recursive: true });
  await writeFile(path.join(dep, "package.json"), '{"name":"fake-dep","type":"module","main":"index.js"}\n');
  await writeFile(path.join(dep, "index.js"), 'export const dep = "dep-ok";\n');
  return {
    root,
    repo,
    stateDir,
    config: (env = {}) =>
      loadConfig({
        cwd: root,
        env: {
          LOOM_REPO_PATH: repo,
          LOOM_STATE_DIR: stateDir,
          LOOM_RUNTIME: "local",
          ANTHROPIC_API_KEY: "prime-key",
          LOOM_LAB_API_KEY: "lab-key-must-not-reach-prime",
          LOOM_LAB_API_BASE: "http://127.0.0.1:9",
          LOOM_MAX_RETRIES: "0",
          ...env,
        },
      }),
    verifiedGeneration: async (store, files) => {
      const parent = (await store.latestPromoted())?.generation ?? null;
      const { generation: n } = await store.allocate({
        programHash: createHash("sha256").update(JSON.stringify(files)).digest("hex"),
        parent,
      });
      await store.update(n, { outcome: "running" });
      await store.update(n, { outcome: "verifying" });
      await labBranch(repo, n, files);
      const commit = (await sh(repo, ["rev-parse", `lab/gen-${n}`])).trim();
      const base = (await sh(repo, ["rev-parse", "main"])).trim();
      await store.update(n, { verification: passedVerification(commit, base) });
      return n;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
