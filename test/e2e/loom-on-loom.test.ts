import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CascadeStage, GenerationRecord, MechanicalVerification } from "../../schemas/index.ts";
import { SupervisorClient } from "../../src/prime/supervisor-client.ts";
import { SupervisorError } from "../../src/prime/supervisor-error.ts";
import { loadConfig } from "../../src/shared/config.ts";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  startScriptedModel,
} from "../../src/shared/scripted-model/index.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { baselineFile, readBaseline, writeBaseline } from "../../src/supervisor/verify/baseline.ts";
import { cloneLoom, LOOM_ROOT } from "../helpers/loom-clone.ts";

/**
 * Loom on Loom (issue 15, point 6): one round of three candidates on a clone of this repository, each
 * Lab a real `local` Lab on its own scripted model making a real one-module change to Loom's source
 * through its tools, then each verified through the cheap stages (`through: "reachable"`, as Prime's
 * round step screens candidates) by an in-process Supervisor. One candidate breaks a behaviour the
 * module's unit test checks (stopped at the reachable tests), one breaks the type check (stopped at
 * check), one only documents the module (passes what it ran, is not complete, and cannot be promoted).
 * Loom's full suite never runs: not for the losers, and not for main's baseline either (see below).
 */
const MODULE = "src/agent/model-for-role.ts";
const PROGRAM = `# Task: make the model choice in ${MODULE} easier to follow

\`modelClientFor\` picks a role's API key, address and model. Make it read more plainly: one small
change to ${MODULE} only; behaviour stays as it is.
`;
const MODELS = ["loom-lab-flips-roles", "loom-lab-loosens-type", "loom-lab-documents"] as const;

interface Edit {
  readonly summary: string;
  readonly old_str: string;
  readonly new_str: string;
}
const EDITS: Record<(typeof MODELS)[number], Edit> = {
  // Flips the condition but not its branches: each role now gets the other role's model.
  "loom-lab-flips-roles": {
    summary: "Put the Lab first in the model choice.",
    old_str: '(role === "prime" ? config.primeModel : config.labModel)',
    new_str: '(role === "lab" ? config.primeModel : config.labModel)',
  },
  // A number is not a model name: createModelClient's `model: string` no longer type-checks.
  "loom-lab-loosens-type": {
    summary: "Let the override be any model id.",
    old_str: "overrides: { model?: string } = {},",
    new_str: "overrides: { model?: string | number } = {},",
  },
  // Only a doc comment, and a true one: the override comes before both roles' defaults.
  "loom-lab-documents": {
    summary: "Said in the doc comment that an explicit model wins.",
    old_str: " * API key.\n */",
    new_str: " * API key. An explicit `overrides.model` wins over both roles' configured models.\n */",
  },
};

/** Each Lab, told apart by the model it asks for: read the module, make its one edit, stop. */
const SCRIPT: ScriptTurnInput[] = MODELS.flatMap((model): ScriptTurnInput[] => [
  {
    text: `First ${MODULE}.`,
    tool: "read_file",
    input: { path: MODULE },
    when: { model, lastUserTextIncludes: "Here is your program.md" },
  },
  {
    tool: "edit_file",
    input: { path: MODULE, old_str: EDITS[model].old_str, new_str: EDITS[model].new_str },
    when: { model, lastToolResultIncludes: "export function modelClientFor" },
  },
  { text: EDITS[model].summary, when: { model, lastToolResultIncludes: `edited ${MODULE}` } },
]);

const git = async (cwd: string, args: string[]) =>
  (await execa("git", args, { cwd, stdin: "ignore" })).stdout.trim();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const stageOf = (m: MechanicalVerification, name: CascadeStage["name"]) => {
  const found = m.stages?.find((s) => s.name === name);
  if (!found) throw new Error(`no ${name} stage on the record: ${JSON.stringify(m.stages)}`);
  return found;
};
const states = (m: MechanicalVerification) =>
  Object.fromEntries((m.stages ?? []).map((s) => [s.name, s.state]));
/** vitest's summary lines in a stage's output: `Test Files  1 failed | 1 passed (2)` → 2. */
const summaryTotal = (output: string, label: "Test Files" | "Tests") =>
  Number(new RegExp(`^\\s*${label}\\s+[^\\n]*\\((\\d+)\\)\\s*$`, "m").exec(output)?.[1] ?? Number.NaN);

let root: string;
let repo: string;
let stateDir: string;
let model: ScriptedModelServer;
let sup: Supervisor;
let client: SupervisorClient;
let main: string;
const began = performance.now();

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-on-loom-"));
  repo = await cloneLoom(path.join(root, "repo"));
  main = await git(repo, ["rev-parse", "main"]);
  stateDir = path.join(root, "state");
  // main's baseline test count, which a Supervisor measures with Loom's full suite while the Labs
  // work (to have it for the full_tests stage), as if measured already: running Loom's whole suite
  // is minutes, and nothing here reaches full_tests. The count is a stand-in; no stage compares it.
  await writeBaseline(stateDir, {
    version: 1,
    commit: main,
    testCount: 0,
    durationMs: null,
    source: "run",
    at: new Date().toISOString(),
  });
  model = await startScriptedModel(SCRIPT);
  sup = await startSupervisor({
    config: loadConfig({
      cwd: root,
      env: {
        LOOM_REPO_PATH: repo,
        LOOM_STATE_DIR: stateDir,
        LOOM_RUNTIME: "local",
        ANTHROPIC_API_KEY: "prime-key-must-not-reach-labs",
        LOOM_LAB_API_KEY: "lab-key",
        LOOM_LAB_API_BASE: model.url,
        LOOM_LAB_MODELS: MODELS.join(","),
        LOOM_MAX_RETRIES: "0",
      },
    }),
    port: 0,
    log: () => {},
    pollMs: 100,
  });
  client = new SupervisorClient({ baseUrl: sup.url });
}, 60_000);

afterAll(async () => {
  await sup?.close();
  await model?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("Loom on Loom: a round of three on a clone of Loom, screened by the cascade", () => {
  it("the losers are stopped at check and at the reachable tests without Loom's full suite; the harmless change passes what it ran, is not complete and is refused promotion", async () => {
    // One spawn, one program.md, three candidates drawing the three models in turn.
    const t0 = performance.now();
    const spawned = await client.spawn({ program: PROGRAM, candidates: 3 });
    expect(spawned.generations.map((g) => g.candidate?.model)).toEqual([...MODELS]);
    const labs = await client.waitForRound(spawned, { pollMs: 200, timeoutMs: 120_000 });
    const labMs = performance.now() - t0;
    for (const r of labs) expect(r.outcome, r.reason ?? "").toBe("verifying");
    const [flips, loosens, documents] = labs.map((r) => r.generation) as [number, number, number];
    // Each branch holds its Lab's one edit of Loom's own module (and the round's program.md), nothing else.
    for (const r of labs) {
      const changed = (await git(repo, ["diff", "--name-only", main, `lab/gen-${r.generation}`])).split("\n");
      expect(changed.sort()).toEqual(["program.md", MODULE]);
      const source = await git(repo, ["show", `lab/gen-${r.generation}:${MODULE}`]);
      expect(source).toContain(EDITS[r.candidate?.model as (typeof MODELS)[number]].new_str);
    }

    // The cheap stages for each, one after another, as Prime's round step screens a round.
    const screened = new Map<
      number,
      { m: MechanicalVerification; wallMs: number; record: GenerationRecord }
    >();
    for (const n of [flips, loosens, documents]) {
      const v0 = performance.now();
      const m = await client.verify(n, undefined, { through: "reachable" });
      screened.set(n, { m, wallMs: performance.now() - v0, record: await client.getGeneration(n) });
    }
    const get = (n: number) => screened.get(n) as NonNullable<ReturnType<typeof screened.get>>;

    // Flipped roles: the type check passes, the module's own unit test fails among the reachable tests.
    const a = get(flips).m;
    expect(states(a)).toEqual({
      fixed_points: "passed",
      install: "skipped",
      check: "passed",
      reachable_tests: "failed",
      full_tests: "not_run",
      acceptance: "not_run",
    });
    expect(a.passed).toBe(false);
    expect(a.failures.join("\n")).toMatch(
      /^reachable tests: `vitest related \(2 changed file\(s\)\)` exited/m,
    );
    const reachedA = stageOf(a, "reachable_tests");
    expect(reachedA.detail).toMatch(/FAIL\s+test\/agent\/model-for-role\.test\.ts/);
    expect(a.tests.output).toMatch(/^not run: the reachable tests failed/);

    // Loosened type: stopped at the type check, which names the module; no test ran at all.
    const b = get(loosens).m;
    expect(states(b)).toEqual({
      fixed_points: "passed",
      install: "skipped",
      check: "failed",
      reachable_tests: "not_run",
      full_tests: "not_run",
      acceptance: "not_run",
    });
    expect(b.passed).toBe(false);
    expect(b.check.output).toContain(MODULE);
    expect(b.check.output).toMatch(/error TS\d+/);

    // Only documented: passes every stage it ran, is not complete, and main's full suite still stands
    // between it and main.
    const c = get(documents).m;
    expect(states(c)).toEqual({
      fixed_points: "passed",
      install: "skipped",
      check: "passed",
      reachable_tests: "passed",
      full_tests: "not_run",
      acceptance: "not_run",
    });
    expect(c).toMatchObject({ passed: true, complete: false, failures: [] });
    expect(stageOf(c, "full_tests").detail).toMatch(/through: "reachable"/);
    const refusal = await client.promote(documents).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(SupervisorError);
    expect(refusal).toMatchObject({ code: "VERIFICATION_INCOMPLETE", status: 409 });
    expect(await git(repo, ["rev-parse", "main"])).toBe(main);
    expect(await git(repo, ["tag", "--list"])).toBe("");

    // Loom's full suite never ran: main's baseline is still the stand-in, and no step measured another.
    expect(await readBaseline(stateDir, main)).toMatchObject({ testCount: 0, durationMs: null });
    expect(await readdir(path.dirname(baselineFile(stateDir, main)))).toEqual([`${main}.json`]);

    // How much of Loom's suite the reachable stage ran, against what the suite is.
    const suiteFiles = (await git(repo, ["ls-files", "--", "test/*.test.ts"])).split("\n").filter(Boolean);
    const durations = JSON.parse(
      await readFile(path.join(LOOM_ROOT, "test/durations.json"), "utf8"),
    ) as Record<string, number>;
    const suiteMs = Object.values(durations).reduce((x, y) => x + y, 0);
    const reachedFiles = summaryTotal(reachedA.detail ?? "", "Test Files");
    expect(reachedFiles).toBeGreaterThan(0);
    // A small share: a few files of a suite of ~160.
    expect(reachedFiles / suiteFiles.length).toBeLessThan(0.05);
    const reachedC = stageOf(c, "reachable_tests");
    expect(reachedC.testsRun).toBeGreaterThan(0);

    const lines = [
      `Loom on Loom: a clone of main ${main.slice(0, 12)}, ${suiteFiles.length} test files; round of 3 on ${MODULE}`,
      `  Labs (3 at once, local runtime): ${seconds(labMs)} from spawn to every Lab done`,
      ...[flips, loosens, documents].map((n) => {
        const { m, wallMs, record } = get(n);
        const ran = (m.stages ?? [])
          .filter((s) => s.state === "passed" || s.state === "failed")
          .map((s) => `${s.name} ${s.state} ${seconds(s.durationMs)}`)
          .join(", ");
        const stopped = m.stages?.find((s) => s.state === "failed")?.name;
        const target = stopped ? (m.durationMs <= 60_000 ? " (≤ 60 s: met)" : " (≤ 60 s: missed)") : "";
        return `  gen-${n} (${record.candidate?.model}): ${stopped ? `rejected at ${stopped}` : "passed what it ran (complete: false)"} after ${seconds(m.durationMs)} of stage 1${target} (${seconds(wallMs)} from POST /verify): ${ran}`;
      }),
      `  reachable tests: ${reachedFiles} of ${suiteFiles.length} test files (${((100 * reachedFiles) / suiteFiles.length).toFixed(1)} %); ${reachedC.testsRun} tests passed for gen-${documents}`,
      `  Loom's suite, by the last measure (test/durations.json): ${Object.keys(durations).length} files, ${seconds(suiteMs)} of file time; full_tests and acceptance: not run for any candidate`,
      `  whole test so far: ${seconds(performance.now() - began)}`,
    ];
    console.log(lines.join("\n"));

    // Each rejection a small part of the suite's time. (The issue's target, ≤ 60 s, is printed above
    // rather than asserted: on a shared 2-core machine, or beside the rest of the suite, a timing is
    // not a verdict; bench/cascade.bench.ts measures it against the full suite in one run.)
    for (const n of [flips, loosens]) expect(get(n).m.durationMs).toBeLessThan(suiteMs / 10);

    // The losers go as the round step sends them: rolled back, their branches gone, main untouched.
    for (const n of [flips, loosens]) await client.rollback(n, "failed the cheap stages of the cascade");
    expect(await git(repo, ["branch", "--list", "lab/*"])).toBe(`lab/gen-${documents}`);
    // Nothing left running: no Lab, no verification step.
    expect(await new LocalRuntime({ stateDir }).list({ loom: "1" })).toEqual([]);
    // About 35 s alone; the suite starts it beside its three other slowest files on two cores, where
    // it took 127 s here and more than 180 s on a CI machine (a timeout, not a failed assertion).
  }, 480_000);
});
