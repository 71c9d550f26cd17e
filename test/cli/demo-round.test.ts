import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/generation-record.ts";
import { ROUND_LAB_MODELS } from "../../src/demo/demo-script.ts";
import { runGit } from "../../src/shared/git/run-git.ts";
import { loom } from "../helpers/cli.ts";

const kept: string[] = [];
afterEach(async () => {
  await Promise.all(kept.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

// Outside any checkout: no developer's .env reaches the command.
const cwd = tmpdir();

describe("loom demo --candidates 3", () => {
  it("one round: the careless candidate stopped at the reachable tests in seconds, the verbose one archived with a lower fitness, the tidy one promoted and tagged; --keep leaves the round for loom generations --json", async () => {
    const demo = await loom(["demo", "--candidates", "3", "--keep"], {
      env: { LOOM_RUNTIME: "local" },
      cwd,
      timeoutMs: 240_000,
    });
    const folder = demo.stdout.match(/^kept: (\S+)$/m)?.[1];
    if (folder) kept.push(folder);
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    // The printed command, run as printed.
    const stateDir = demo.stdout.match(/LOOM_STATE_DIR=(\S+) loom generations --json$/m)?.[1];
    expect(stateDir).toBe(`${folder}/state`);
    const listed = await loom(["generations", "--json"], { env: { LOOM_STATE_DIR: stateDir! }, cwd });
    expect(listed.code, listed.stderr).toBe(0);
    const records = (JSON.parse(listed.stdout) as unknown[]).map((r) => GenerationRecord.parse(r));
    expect(records).toHaveLength(3);
    expect(new Set(records.map((r) => r.round))).toEqual(new Set([1]));
    const byModel = (model: string) => records.find((r) => r.candidate?.model === model)!;
    const [careless, verbose, tidy] = ROUND_LAB_MODELS.map(byModel);
    // Candidate i drew LOOM_LAB_MODELS[i - 1].
    expect(records.map((r) => [r.candidate?.index, r.candidate?.model])).toEqual([
      [1, ROUND_LAB_MODELS[0]],
      [2, ROUND_LAB_MODELS[1]],
      [3, ROUND_LAB_MODELS[2]],
    ]);
    expect([careless!.outcome, verbose!.outcome, tidy!.outcome]).toEqual([
      "rolled_back",
      "archived",
      "promoted",
    ]);

    // The careless one: banner's test failed in the reachable tests; the full suite never ran.
    const stages = careless!.verification!.mechanical.stages!;
    const state = (name: string) => stages.find((s) => s.name === name)?.state;
    expect(stages.filter((s) => s.state === "failed").map((s) => s.name)).toEqual(["reachable_tests"]);
    expect([state("fixed_points"), state("check"), state("full_tests"), state("acceptance")]).toEqual([
      "passed",
      "passed",
      "not_run",
      "not_run",
    ]);
    expect(careless!.reason).toMatch(/reachable tests/);
    // Seconds, and not a full suite: vitest ran banner's test (which failed), not the slow unrelated one.
    const reachable = stages.find((s) => s.name === "reachable_tests")!;
    expect(reachable.detail).toContain("test/banner.test.ts");
    expect(reachable.detail).not.toContain("report.test.ts");
    expect(careless!.verification!.mechanical.durationMs).toBeLessThan(30_000);

    // The verbose one: every stage and the review, a lower fitness (larger diff, less confident review), archived.
    expect(verbose!.verification!.mechanical.complete).not.toBe(false);
    expect(verbose!.verification!.passed).toBe(true);
    expect(verbose!.fitness!).toBeLessThan(tidy!.fitness!);
    const components = (r: GenerationRecord) => r.verification!.fitness!.components;
    expect(components(verbose!).changedLines).toBeGreaterThan(components(tidy!).changedLines! * 2);
    expect(components(verbose!).review).toBeLessThan(components(tidy!).review!);
    expect(demo.stdout).toMatch(
      new RegExp(
        `gen-${verbose!.generation} scored .* lower on size .*changed lines\\); review confidence 0.6 vs 0.9`,
      ),
    );

    // git: the tag on main, the archive ref, no lab branches left.
    const repo = join(folder!, "repo");
    const refs = (await runGit(repo, ["for-each-ref", "--format=%(refname)"])).trim().split("\n");
    expect(refs.sort()).toEqual(
      [
        "refs/heads/main",
        `refs/loom/archive/gen-${verbose!.generation}`,
        `refs/tags/gen-${tidy!.generation}`,
      ].sort(),
    );
    expect((await runGit(repo, ["log", "-1", "--format=%s", "main"])).trim()).toBe(
      `Promote gen-${tidy!.generation}`,
    );
    // Each candidate's line: generation, outcome, what stopped it or its fitness, its times.
    expect(demo.stdout).toMatch(
      new RegExp(
        `^gen-${careless!.generation} .*rolled_back\\s+stopped at reachable_tests \\(test/banner\\.test\\.ts > banner greets everyone\\)\\n\\s+stage 1 \\d`,
        "m",
      ),
    );
    expect(demo.stdout).toMatch(
      new RegExp(`^gen-${tidy!.generation} .*promoted\\s+fitness ${tidy!.fitness}\\n`, "m"),
    );
  }, 300_000);

  it("refuses a bad round size naming it: --candidates 0, 17, x exit 2; LOOM_CANDIDATES=0 and a size the demo has no script for exit 1", async () => {
    const [zero, many, text, env, unscripted] = await Promise.all([
      loom(["demo", "--candidates", "0"], { cwd }),
      loom(["demo", "--candidates", "17"], { cwd }),
      loom(["demo", "--candidates", "x"], { cwd }),
      loom(["demo"], { env: { LOOM_CANDIDATES: "0" }, cwd }),
      loom(["demo"], { env: { LOOM_CANDIDATES: "4" }, cwd }),
    ]);
    for (const [r, got] of [
      [zero, "0"],
      [many, "17"],
      [text, "x"],
    ] as const) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--candidates must be a whole number from 1 to 16 (got "${got}")`);
    }
    expect(env.code).toBe(1);
    expect(env.stderr).toContain('LOOM_CANDIDATES="0" is not valid: expected a whole number from 1 to 16');
    expect(unscripted.code).toBe(1);
    expect(unscripted.stderr.trim()).toBe(
      "loom: LOOM_CANDIDATES=4 has no demo: loom demo runs one generation (1) or a round of three candidates (3)",
    );
  }, 60_000);
});
