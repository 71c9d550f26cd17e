import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { demoRepoFiles } from "../../src/demo/demo-repo.ts";
import { type CycleResult, runDemoCycle } from "../../src/demo/run-cycle.ts";
import { lessonsFrom } from "../../src/prime/reflect/lessons.ts";
import { PROPOSE_TOOL } from "../../src/prime/reflect/reflect-prompt.ts";
import { REVIEW_TOOL } from "../../src/prime/review/review-prompt.ts";
import type { ScriptTurnInput } from "../../src/shared/scripted-model/index.ts";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { labImageMissing } from "../helpers/lab-image.ts";

/**
 * The whole cycle with real Lab and verification containers: Prime's autonomous loop (reflect →
 * spawn → verify → promote or roll back) against a real Supervisor on a scratch repository, scripted
 * models on both sides. Needs docker and the Lab image; LOOM_REQUIRE_ENGINES=1 makes their absence a failure.
 */
const missing = await labImageMissing("end-to-end cycle tests");

const contract = (task: string) => ({
  task,
  objective: `${task}, as the acceptance criteria say.`,
  files: ["src/greet.ts"],
  acceptanceCriteria: ["npm test passes"],
  constraints: ["Do not change behaviour."],
});
const reflectTurn = (task: string): ScriptTurnInput => ({
  tool: PROPOSE_TOOL,
  input: contract(task),
  when: { lastUserTextIncludes: "# Analysis of the current main" },
});

const env = { LOOM_RUNTIME: "docker", LOOM_VERIFY_TIMEOUT_MS: "240000" };
const git = async (cwd: string, args: string[]) => (await execa("git", args, { cwd })).stdout.trim();
/** This cycle's containers (Labs, verification): other suites run their own at the same time. */
const labContainers = async (r: CycleResult) =>
  (
    await execa("docker", [
      "ps",
      "-aq",
      "--filter",
      `label=loom.repo=${repoLabels(`${r.scratch}/repo`)["loom.repo"]}`,
    ])
  ).stdout.trim();

const kept: CycleResult[] = [];
afterAll(async () => {
  const { rm } = await import("node:fs/promises");
  await Promise.all(kept.map((r) => rm(r.scratch, { recursive: true, force: true })));
});
const cycle = async (options: Parameters<typeof runDemoCycle>[0]): Promise<CycleResult> => {
  const r = await runDemoCycle({ keep: true, ...options });
  kept.push(r);
  return r;
};
const quiet = () => {};

describe.skipIf(missing !== undefined)("the self-modification cycle end to end (docker)", () => {
  it("(a) promotes a good generation: main has the Lab's commit under a merge tagged gen-1 (its Lab claimed from LOOM_LAB_POOL)", async () => {
    const lines: string[] = [];
    const r = await cycle({ log: (l) => lines.push(l), env: { ...env, LOOM_LAB_POOL: "1" } });
    expect(
      lines.filter((l) => /gen-1 Lab loom-pool-\S+ claimed from the pool on docker/.test(l)),
    ).toHaveLength(1);
    expect(r.record.outcome, r.record.reason ?? "").toBe("promoted");
    expect(r.stopReason).toBe("max_generations");
    expect(r.tags).toEqual(["gen-1"]);
    expect(r.mainLog.split("\n")[0]).toMatch(/Promote gen-1/);
    const repo = `${r.scratch}/repo`;
    expect(await git(repo, ["rev-parse", "gen-1^{commit}"])).toBe(r.mainAfter);
    expect(await git(repo, ["show", "main:src/banner.ts"])).toContain("greetUser(name)");
    expect(await git(repo, ["show", "main:test/greet-user.test.ts"])).toContain('greetUser("Ada")');
    const v = r.record.verification;
    expect(v?.passed).toBe(true);
    expect(v?.mechanical.tests.testCount).toBe(2);
    expect(v?.mechanical.baselineTestCount).toBe(1);
    expect(v?.review?.verdict?.approved).toBe(true);
    expect(r.record.fitness).toBeGreaterThan(0);
    expect(await labContainers(r)).toBe("");
  }, 300_000);

  it("(b) rolls back a generation whose tests fail: main untouched, the reason kept as a lesson, no review asked", async () => {
    const r = await cycle({
      log: quiet,
      env,
      primeScript: [reflectTurn("Add a test for greet")],
      labScript: [
        {
          tool: "write_file",
          input: {
            path: "test/broken.test.ts",
            content:
              'import assert from "node:assert/strict";\nimport { test } from "node:test";\ntest("wrong", () => assert.equal(1, 2));\n',
          },
        },
        { text: "added a test", when: { lastToolResultIncludes: "broken.test.ts" } },
      ],
    });
    expect(r.record.outcome).toBe("rolled_back");
    expect(r.mainAfter).toBe(r.mainBefore);
    expect(r.tags).toEqual([]);
    const m = r.record.verification?.mechanical;
    expect(m?.tests.passed).toBe(false);
    expect(m?.failures.join(" ")).toMatch(/npm test/);
    expect(r.record.verification?.review?.verdict ?? null).toBeNull();
    // The reflection's next prompt carries why it failed.
    const lessons = lessonsFrom(r.records).join("\n");
    expect(lessons).toContain("gen 1 rolled_back");
    expect(lessons).toMatch(/npm test/);
    // Only the reflection reached Prime's model: no review of a generation whose tests fail.
    expect(r.primeRequests).toBe(1);
    expect(await labContainers(r)).toBe("");
  }, 300_000);

  it("(c) rejects a generation whose commit changes schemas/, even behind the read-only mount", async () => {
    const files = { ...demoRepoFiles, "schemas/contract.ts": "export const version = 1;\n" };
    const r = await cycle({
      log: quiet,
      env,
      repoFiles: files,
      primeScript: [reflectTurn("Bump the contract version")],
      labScript: [
        {
          // The mount refuses writes, so this Lab edits the index instead and hides the file from `add -A`.
          tool: "bash",
          input: {
            command:
              "h=$(echo 'export const version = 2;' | git hash-object -w --stdin) && " +
              "git update-index --cacheinfo 100644,$h,schemas/contract.ts && " +
              "git update-index --assume-unchanged schemas/contract.ts && " +
              "git -c user.name=lab -c user.email=lab@x commit -qm 'bump contract' && echo bumped",
          },
        },
        { text: "bumped the contract", when: { lastToolResultIncludes: "bumped" } },
      ],
    });
    const repo = `${r.scratch}/repo`;
    expect(r.record.outcome).toBe("rolled_back");
    expect(r.record.verification?.mechanical.schemaFingerprintOk).toBe(false);
    expect(r.record.reason).toMatch(/schemas/);
    expect(r.mainAfter).toBe(r.mainBefore);
    expect(await git(repo, ["show", "main:schemas/contract.ts"])).toBe("export const version = 1;");
  }, 300_000);

  it("(d) kills a hanging Lab at LOOM_LAB_TIMEOUT_MS, fetches its branch, and the loop goes on without it", async () => {
    const r = await cycle({
      log: quiet,
      env: { ...env, LOOM_LAB_TIMEOUT_MS: "5000" },
      primeScript: [reflectTurn("Think for a very long time")],
      labScript: [{ tool: "bash", input: { command: "sleep 600" } }],
    });
    const repo = `${r.scratch}/repo`;
    expect(r.record.outcome).toBe("timed_out");
    expect(r.record.reason).toMatch(/LOOM_LAB_TIMEOUT_MS=5000/);
    // Fetched back: the program commit the Supervisor made is on lab/gen-1 in the repo.
    expect(await git(repo, ["log", "--format=%s", "lab/gen-1"])).toContain("gen-1: program");
    expect(r.mainAfter).toBe(r.mainBefore);
    expect(lessonsFrom(r.records).join("\n")).toContain("gen 1 timed_out");
    expect(await labContainers(r)).toBe("");
  }, 300_000);

  it("(e) stops on the token budget before a second generation, and says so", async () => {
    const r = await cycle({
      log: quiet,
      env: { ...env, LOOM_TOKEN_BUDGET: "1" },
      maxGenerations: 3,
      primeScript: [reflectTurn("Add a test for greet")],
      labScript: [{ text: "nothing to do" }],
    });
    expect(r.stopReason).toBe("token_budget");
    expect(r.records).toHaveLength(1);
  }, 300_000);

  it("(e) stops on a plateau: a promoted generation that does not beat the best fitness ends the run", async () => {
    const review = (confidence: number, issues: string[]): ScriptTurnInput => ({
      tool: REVIEW_TOOL,
      input: { approved: true, issues, confidence, summary: "adds a constant" },
      when: { lastUserTextIncludes: "## Diff" },
    });
    const writes = (file: string): ScriptTurnInput[] => [
      { tool: "write_file", input: { path: file, content: "export const answer = 42;\n" } },
      { text: `wrote ${file}`, when: { lastToolResultIncludes: file } },
    ];
    const r = await cycle({
      log: quiet,
      env: { ...env, LOOM_PLATEAU_WINDOW: "1" },
      maxGenerations: 3,
      // The second generation is approved with less confidence and more issues: no gain over the first.
      primeScript: [
        reflectTurn("Add a constant"),
        review(0.95, []),
        reflectTurn("Add another constant"),
        review(0.1, ["naming", "no doc comment", "unused"]),
      ],
      labScript: [...writes("src/a.ts"), ...writes("src/b.ts")],
    });
    expect(r.records.map((g) => g.outcome)).toEqual(["promoted", "promoted"]);
    const [first, second] = r.records.map((g) => g.fitness ?? 0);
    expect(second).toBeLessThan(first as number);
    expect(r.stopReason).toBe("plateau");
    expect(r.tags.sort()).toEqual(["gen-1", "gen-2"]);
  }, 400_000);
});
