import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/shared/config.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import {
  type Baseline,
  baselineAt,
  baselineFile,
  readBaseline,
  writeBaseline,
} from "../../src/supervisor/verify/baseline.ts";
import { git } from "../supervisor/verify-fixture.ts";

/** main's test count, measured once per commit and cached: the number a candidate may not fall below. */
let root: string;
let repo: string;
let stateDir: string;
let main: string;
let brokenInstall: string;

const ctx = () => ({
  runtime: new LocalRuntime({ stateDir, sandbox: "none" }),
  config: loadConfig({
    cwd: root,
    env: { LOOM_REPO_PATH: repo, LOOM_STATE_DIR: stateDir, LOOM_RUNTIME: "local" },
  }),
  image: "unused",
});

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gate-base-"));
  repo = path.join(root, "repo");
  stateDir = path.join(root, "state");
  await mkdir(repo, { recursive: true });
  await writeFile(
    path.join(repo, "package.json"),
    // printf, so the summary line is only in what the script prints, not in package.json's listing of it.
    JSON.stringify({ name: "b", private: true, scripts: { test: 'printf " Tests  %d passed (%d)\\n" 5 5' } }),
  );
  await git(repo, ["init", "-q", "-b", "main"]);
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "main"]);
  main = (await git(repo, ["rev-parse", "HEAD"])).trim();
  await git(repo, ["checkout", "-q", "-b", "other"]);
  await writeFile(path.join(repo, "package-lock.json"), "{ not json");
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "a lockfile npm cannot read"]);
  brokenInstall = (await git(repo, ["rev-parse", "HEAD"])).trim();
  await git(repo, ["checkout", "-q", "main"]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sample = (commit: string, testCount = 42): Baseline => ({
  version: 1,
  commit,
  testCount,
  durationMs: 10,
  source: "promotion",
  at: "2026-01-01T00:00:00.000Z",
});

describe("the baseline cache", () => {
  it("reads back what was written; anything missing, unreadable, invalid or for another commit is no cache", async () => {
    const dir = path.join(root, "cache");
    const c = "c".repeat(40);
    expect(baselineFile(dir, c)).toBe(path.join(dir, "baselines", `${c}.json`));
    expect(await readBaseline(dir, c)).toBeUndefined();
    await writeBaseline(dir, sample(c));
    expect(await readBaseline(dir, c)).toEqual(sample(c));
    await writeFile(baselineFile(dir, c), "{ not json");
    expect(await readBaseline(dir, c)).toBeUndefined();
    await writeFile(baselineFile(dir, c), JSON.stringify({ ...sample(c), testCount: -1 }));
    expect(await readBaseline(dir, c)).toBeUndefined();
    await writeFile(baselineFile(dir, c), JSON.stringify(sample("d".repeat(40))));
    expect(await readBaseline(dir, c)).toBeUndefined();
    await expect(writeBaseline(dir, { ...sample(c), testCount: 1.5 })).rejects.toThrow();
  });
});

describe("baselineAt", () => {
  it("measures main's npm test once, caches it, and leaves no clone behind", async () => {
    const [a, b] = [baselineAt(ctx(), main), baselineAt(ctx(), main)];
    expect(a).toBe(b);
    const measured = await a;
    expect(measured).toMatchObject({ version: 1, commit: main, testCount: 5, source: "run" });
    expect(measured.durationMs).toEqual(expect.any(Number));
    expect(await readBaseline(stateDir, main)).toEqual(measured);
    expect(await readdir(path.join(stateDir, "verify")).catch(() => [])).toEqual([]);
    // Done means done: a later call reads the cache again (here rewritten) instead of the old answer.
    await writeBaseline(stateDir, sample(main, 42));
    expect((await baselineAt(ctx(), main)).testCount).toBe(42);
  });

  it("measurements of different commits at once are each their own", async () => {
    const dir = path.join(root, "two-at-once");
    await writeBaseline(dir, sample(main, 7));
    const c = { ...ctx(), config: { ...ctx().config, stateDir: dir } };
    const other = "e".repeat(40);
    await writeBaseline(dir, sample(other, 9));
    const [a, b] = await Promise.all([baselineAt(c, main), baselineAt(c, other)]);
    expect([a.commit, a.testCount, b.commit, b.testCount]).toEqual([main, 7, other, 9]);
  });

  it("a cached baseline is used as it is, without running anything", async () => {
    const dir = path.join(root, "cached-state");
    await writeBaseline(dir, sample(main, 42));
    const c = { ...ctx(), config: { ...ctx().config, stateDir: dir } };
    expect(await baselineAt(c, main)).toEqual(sample(main, 42));
  });

  it("a commit main itself cannot install at has a count of 0 and no duration", async () => {
    const b = await baselineAt(ctx(), brokenInstall);
    expect(b).toMatchObject({ commit: brokenInstall, testCount: 0, durationMs: null, source: "run" });
  });
});
