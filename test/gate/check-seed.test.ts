import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { checkSeedDir, makeCheckSeed, seedCommit } from "../../src/supervisor/verify/check-seed.ts";
import { verifyMechanical } from "../../src/supervisor/verify/mechanical.ts";
import type { StepsContext } from "../../src/supervisor/verify/prepare-steps.ts";
import { Verifier } from "../../src/supervisor/verify/verifier.ts";
import {
  git,
  mainFiles,
  makeVerifyFixture,
  packageJson,
  type VerifyFixture,
} from "../supervisor/verify-fixture.ts";

/**
 * A type check that starts from main's seed (check-seed.ts): a TypeScript repo whose check keeps tsc's
 * build info in .loom-cache and says whether it found one. The seed is made from main's own check; a
 * candidate's check starts from it and still finds the candidate's type errors; a candidate that commits
 * a build info of its own (one that would make tsc call its type error checked and clean) is refused.
 */
const CHECK =
  'if [ -f .loom-cache/tsc.tsbuildinfo ]; then echo "check: seeded"; else echo "check: cold"; fi; ' +
  "tsc --noEmit --incremental --tsBuildInfoFile .loom-cache/tsc.tsbuildinfo -p tsconfig.json";
const withCheck = (check: string): string => {
  const pkg = JSON.parse(packageJson()) as { scripts: Record<string, string> };
  pkg.scripts.check = check;
  return `${JSON.stringify(pkg, null, 2)}\n`;
};
const TYPE_ERROR = 'export function add(a: number, b: number): number {\n  return "no";\n}\n';

let fx: VerifyFixture;
let runtime: LocalRuntime;
let n = 0;
const ctx = (): StepsContext => ({ runtime, config: fx.config({ LOOM_RUNTIME: "local" }), image: "unused" });

beforeAll(async () => {
  // No .gitignore entry for .loom-cache: a candidate can commit one either way (`git add -f`).
  fx = await makeVerifyFixture({ ...mainFiles, "package.json": withCheck(CHECK) });
  runtime = new LocalRuntime({ stateDir: fx.stateDir, sandbox: "none" });
}, 60_000);
afterAll(async () => {
  await fx?.cleanup();
});

const verify = async (files: Record<string, string | null>) => {
  n += 1;
  await fx.labBranch(n, files);
  return verifyMechanical(ctx(), n, "reachable");
};

describe("the check starts from main's seed", () => {
  it("without a seed, a candidate's check runs cold", async () => {
    const m = await verify({ "src/more.ts": "export const more = 1;\n" });
    expect(m.check).toMatchObject({ passed: true });
    expect(m.check.output).toContain("check: cold");
  }, 60_000);

  it("main's check makes the seed once; a clean change and a type error are both checked from it", async () => {
    const main = (await git(fx.repo, ["rev-parse", "main"])).trim();
    // Asked twice at once (two Labs starting): one seed is made.
    const first = makeCheckSeed(ctx(), main);
    expect(makeCheckSeed(ctx(), main)).toBe(first);
    expect(await first).toBe(true);
    expect(await seedCommit(fx.stateDir, "local")).toBe(main);
    // Its clone is gone; only the seed stays.
    expect(await readdir(path.join(fx.stateDir, "verify")).catch(() => [])).toEqual([]);
    // Made already: nothing runs again (the kept seed is not rewritten).
    const kept = await stat(path.join(checkSeedDir(fx.stateDir, "local"), "commit"));
    expect(await makeCheckSeed(ctx(), main)).toBe(true);
    expect((await stat(path.join(checkSeedDir(fx.stateDir, "local"), "commit"))).ino).toBe(kept.ino);

    const clean = await verify({ "src/more.ts": "export const more = 1;\n" });
    expect(clean.check).toMatchObject({ passed: true });
    expect(clean.check.output).toContain("check: seeded");

    const broken = await verify({ "src/math.ts": TYPE_ERROR });
    expect(broken.check.passed).toBe(false);
    expect(broken.check.output).toContain("check: seeded");
    expect(broken.check.output).toMatch(/src\/math\.ts\(2,3\): error TS2322/);
    expect(broken.stages?.find((s) => s.name === "check")?.state).toBe("failed");
  }, 120_000);

  it("a candidate that commits a build info calling its type error clean is refused at the fixed points", async () => {
    // The forgery: tsc's own build info for the broken tree, its diagnostics dropped. Run as main's
    // check would run it, tsc trusts it and passes the type error; the verifier never lets it in.
    const forge = path.join(fx.root, "forge");
    await execa("git", ["clone", "-q", fx.repo, forge]);
    await execa("ln", ["-s", path.join(fx.repo, "node_modules"), path.join(forge, "node_modules")]);
    await writeFile(path.join(forge, "src/math.ts"), TYPE_ERROR);
    const tsc = path.join(forge, "node_modules/.bin/tsc");
    const args = [
      "--noEmit",
      "--incremental",
      "--tsBuildInfoFile",
      ".loom-cache/tsc.tsbuildinfo",
      "-p",
      "tsconfig.json",
    ];
    const honest = await execa(tsc, args, { cwd: forge, reject: false });
    expect(honest.exitCode).not.toBe(0);
    const info = path.join(forge, ".loom-cache/tsc.tsbuildinfo");
    const parsed = JSON.parse(await readFile(info, "utf8")) as Record<string, unknown>;
    await writeFile(info, JSON.stringify({ ...parsed, semanticDiagnosticsPerFile: [] }));
    const fooled = await execa(tsc, args, { cwd: forge, reject: false });
    expect(fooled.exitCode, fooled.stdout).toBe(0);

    const forged = await readFile(info, "utf8");
    const m = await verify({ "src/math.ts": TYPE_ERROR, ".loom-cache/tsc.tsbuildinfo": forged });
    expect(m.passed).toBe(false);
    expect(m.stages?.find((s) => s.name === "fixed_points")).toMatchObject({ state: "failed" });
    expect(m.failures.join("\n")).toMatch(/^\.loom-cache: lab\/gen-\d+ commits \.loom-cache\//m);
    expect(m.check.output).toMatch(/^not run/);
  }, 120_000);

  it("a check that starts while main's seed is being made waits for it instead of running cold", async () => {
    const f = await makeVerifyFixture({ ...mainFiles, "package.json": withCheck(CHECK) });
    try {
      const rt = new LocalRuntime({ stateDir: f.stateDir, sandbox: "none" });
      const c: StepsContext = { runtime: rt, config: f.config({ LOOM_RUNTIME: "local" }), image: "unused" };
      const main = (await git(f.repo, ["rev-parse", "main"])).trim();
      await f.labBranch(1, { "src/more.ts": "export const more = 1;\n" });
      const seeding = makeCheckSeed(c, main);
      const m = await verifyMechanical(c, 1, "reachable");
      expect(await seeding).toBe(true);
      expect(m.check).toMatchObject({ passed: true });
      expect(m.check.output).toContain("check: seeded");
    } finally {
      await f.cleanup();
    }
  }, 120_000);

  it("a new main gets its own seed, made again when main comes back; seeds of two repositories at once", async () => {
    const a = (await git(fx.repo, ["rev-parse", "main"])).trim();
    await writeFile(path.join(fx.repo, "src/later.ts"), "export const later = 2;\n");
    await git(fx.repo, ["add", "-A"]);
    await git(fx.repo, ["commit", "-q", "-m", "main moves"]);
    const b = (await git(fx.repo, ["rev-parse", "main"])).trim();
    expect(await makeCheckSeed(ctx(), b)).toBe(true);
    expect(await seedCommit(fx.stateDir, "local")).toBe(b);
    expect(await makeCheckSeed(ctx(), a)).toBe(true);
    expect(await seedCommit(fx.stateDir, "local")).toBe(a);

    const other = await makeVerifyFixture({ ...mainFiles, "package.json": withCheck(CHECK) });
    try {
      const c: StepsContext = {
        runtime: new LocalRuntime({ stateDir: other.stateDir, sandbox: "none" }),
        config: other.config({ LOOM_RUNTIME: "local" }),
        image: "unused",
      };
      const otherMain = (await git(other.repo, ["rev-parse", "main"])).trim();
      await rm(checkSeedDir(fx.stateDir, "local"), { recursive: true });
      expect(await Promise.all([makeCheckSeed(ctx(), a), makeCheckSeed(c, otherMain)])).toEqual([true, true]);
      expect(await seedCommit(fx.stateDir, "local")).toBe(a);
      expect(await seedCommit(other.stateDir, "local")).toBe(otherMain);
    } finally {
      await other.cleanup();
    }
  }, 120_000);

  it("a Supervisor's verifier makes main's seed while a Lab works, after sweeping what a killed keep left", async () => {
    const f = await makeVerifyFixture({ ...mainFiles, "package.json": withCheck(CHECK) });
    try {
      const stale = path.join(f.stateDir, "check-seed", "local.tmp-0a1b2c3d");
      await mkdir(stale, { recursive: true });
      const verifier = new Verifier({
        store: await GenerationStore.open(f.stateDir),
        runtime: new LocalRuntime({ stateDir: f.stateDir, sandbox: "none" }),
        config: f.config({ LOOM_RUNTIME: "local" }),
        emit: () => {},
      });
      const main = (await git(f.repo, ["rev-parse", "main"])).trim();
      verifier.warmBaseline(1);
      const deadline = Date.now() + 60_000;
      while ((await seedCommit(f.stateDir, "local")) !== main && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      await verifier.close();
      expect(await seedCommit(f.stateDir, "local")).toBe(main);
      await expect(stat(stale)).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await f.cleanup();
    }
  }, 90_000);

  it("no seed under swarm, where a step's clone is not this host's: nothing runs for it", async () => {
    const main = (await git(fx.repo, ["rev-parse", "main"])).trim();
    const before = await seedCommit(fx.stateDir, "swarm");
    // A runtime that fails whatever it is asked: the seed must not reach it.
    const swarm = new Proxy({ name: "swarm" } as object, {
      get: (target, key) =>
        key in target
          ? (target as Record<string | symbol, unknown>)[key]
          : () => {
              throw new Error(`the swarm runtime was asked for ${String(key)}`);
            },
    }) as StepsContext["runtime"];
    const gateway = {} as NonNullable<StepsContext["gateway"]>;
    expect(await makeCheckSeed({ ...ctx(), runtime: swarm, gateway }, main)).toBe(false);
    expect(await seedCommit(fx.stateDir, "swarm")).toBe(before);
    // A gateway beside a runtime whose steps mount the clone (docker with LOOM_WORKSPACE_TRANSPORT=git,
    // here local): the seed is made as without one.
    await rm(checkSeedDir(fx.stateDir, "local"), { recursive: true, force: true });
    expect(await makeCheckSeed({ ...ctx(), gateway }, main)).toBe(true);
    expect(await seedCommit(fx.stateDir, "local")).toBe(main);
  }, 60_000);

  it("no seed for a repository whose check does not name .loom-cache (its check never runs), nor from a check that fails", async () => {
    const marker = path.join(fx.root, "plain-check-ran");
    const plain = await makeVerifyFixture({
      ...mainFiles,
      "package.json": withCheck(`touch ${marker} && tsc --noEmit -p tsconfig.json`),
    });
    const failing = await makeVerifyFixture({ ...mainFiles, "package.json": withCheck(`${CHECK} && false`) });
    try {
      for (const f of [plain, failing]) {
        const rt = new LocalRuntime({ stateDir: f.stateDir, sandbox: "none" });
        const main = (await git(f.repo, ["rev-parse", "main"])).trim();
        const c: StepsContext = { runtime: rt, config: f.config({ LOOM_RUNTIME: "local" }), image: "unused" };
        expect(await makeCheckSeed(c, main)).toBe(false);
        expect(await seedCommit(f.stateDir, "local")).toBeUndefined();
      }
      await expect(stat(marker)).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await plain.cleanup();
      await failing.cleanup();
    }
  }, 120_000);
});
