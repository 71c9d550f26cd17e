import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { type Config, loadConfig } from "../../src/shared/config.ts";
import type { GenerationStore } from "../../src/supervisor/store/index.ts";

const LOOM_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const git = async (cwd: string, args: string[]): Promise<string> =>
  (
    await execa("git", ["-c", "user.name=Test", "-c", "user.email=test@loom.invalid", ...args], {
      cwd,
      stdin: "ignore",
    })
  ).stdout;

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

const lockfile = (deps: Record<string, string> = {}): string =>
  json({
    name: "verify-fixture",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "verify-fixture", ...(Object.keys(deps).length ? { dependencies: deps } : {}) },
      ...Object.fromEntries(
        Object.entries(deps).map(([name, spec]) => [
          `node_modules/${name}`,
          { resolved: spec.replace(/^file:/, ""), link: true },
        ]),
      ),
      ...Object.fromEntries(
        Object.entries(deps).map(([name, spec]) => [spec.replace(/^file:/, ""), { name, version: "1.0.0" }]),
      ),
    },
  });

export const packageJson = (deps: Record<string, string> = {}): string =>
  json({
    name: "verify-fixture",
    private: true,
    type: "module",
    scripts: {
      check: "tsc --noEmit -p tsconfig.json",
      test: "node --import tsx --test test/*.test.ts",
      "test:acceptance": "node --import tsx --test acceptance/*.test.ts",
    },
    ...(Object.keys(deps).length ? { dependencies: deps } : {}),
  });

/** A test file of `n` passing node:test tests of add(). */
export const tests = (n: number): string =>
  `import assert from "node:assert/strict";
import { test } from "node:test";
import { add } from "../src/math.ts";
${Array.from({ length: n }, (_, i) => `\ntest("add ${i}", () => {\n  assert.equal(add(${i}, 1), ${i + 1});\n});\n`).join("")}`;

/** A small TypeScript repo on main: a check script (tsc), node:test tests through tsx, schemas/ and acceptance/. */
export const mainFiles: Record<string, string> = {
  "package.json": packageJson(),
  "package-lock.json": lockfile(),
  ".gitignore": "node_modules\n",
  "tsconfig.json": json({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      types: ["node"],
    },
    include: ["src", "test", "acceptance", "schemas"],
  }),
  "schemas/thing.ts": "export const thing = 1;\n",
  "src/math.ts": "export function add(a: number, b: number): number {\n  return a + b;\n}\n",
  "test/math.test.ts": tests(3),
  "acceptance/contract.test.ts": `import assert from "node:assert/strict";
import { test } from "node:test";
import { add } from "../src/math.ts";

test("add stays addition", () => {
  assert.equal(add(2, 2), 4);
});
`,
};

export { lockfile };

export interface VerifyFixture {
  readonly root: string;
  readonly repo: string;
  readonly stateDir: string;
  config(env?: Record<string, string>): Config;
  /** Commits `files` (null deletes) on a new lab/gen-N off main, as a fetched Lab branch would be. */
  labBranch(n: number, files: Record<string, string | null>): Promise<string>;
  cleanup(): Promise<void>;
}

export async function writeFiles(dir: string, files: Record<string, string | null>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    if (text === null) {
      await rm(file, { force: true });
      continue;
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}

/** The repo's packages are Loom's own (tsx, typescript, @types/node), linked like `loom demo` does. */
export async function makeVerifyFixture(
  files: Record<string, string | null> = mainFiles,
): Promise<VerifyFixture> {
  const root = await mkdtemp(path.join(tmpdir(), "loom-verify-"));
  const repo = path.join(root, "repo");
  const stateDir = path.join(root, "state");
  await mkdir(repo, { recursive: true });
  await writeFiles(repo, files);
  await symlink(path.join(LOOM_ROOT, "node_modules"), path.join(repo, "node_modules"), "dir");
  await git(repo, ["init", "-q", "-b", "main"]);
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "initial"]);
  return {
    root,
    repo,
    stateDir,
    config: (env = {}) =>
      loadConfig({
        cwd: root,
        env: { LOOM_REPO_PATH: repo, LOOM_STATE_DIR: stateDir, LOOM_NETWORK: "host", ...env },
      }),
    labBranch: async (n, changes) => {
      await git(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
      await writeFiles(repo, { "program.md": `# Task ${n}\n`, ...changes });
      await git(repo, ["add", "-A"]);
      await git(repo, ["commit", "-q", "--no-verify", "-m", `gen-${n}: work`]);
      const sha = (await git(repo, ["rev-parse", "HEAD"])).trim();
      await git(repo, ["checkout", "-q", "main"]);
      return sha;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * A generation whose Lab is done and whose branch is in the repo, made by hand (the Lab is tested
 * elsewhere): allocated, `files` committed on lab/gen-N, the record moved to verifying.
 */
export async function verifyingGeneration(
  fx: VerifyFixture,
  store: GenerationStore,
  files: Record<string, string | null>,
): Promise<{ generation: number; sha: string }> {
  const rec = await store.allocate({
    programHash: createHash("sha256").update(JSON.stringify(files)).digest("hex"),
    parent: null,
  });
  const sha = await fx.labBranch(rec.generation, files);
  await store.update(rec.generation, { outcome: "running" });
  await store.update(rec.generation, { outcome: "verifying" });
  return { generation: rec.generation, sha };
}
