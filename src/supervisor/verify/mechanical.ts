import { rm } from "node:fs/promises";
import path from "node:path";
import {
  type CascadeStage,
  CascadeStageName,
  type MechanicalVerification,
  type StepResult,
  type TaskFitness,
  type VerifyThrough,
} from "../../../schemas/verification.ts";
import { schemaFingerprintAtRef } from "../git/fingerprint.ts";
import { assertSchemasUnchanged, gateChanges } from "../git/fixed-points.ts";
import { GitOpError } from "../git/git-op-error.ts";
import { MAIN_REF, requireLabBranch, requireMain } from "../git/repo-state.ts";
import { type Baseline, baselineAt, readBaseline } from "./baseline.ts";
import { CHECK_CACHE, plantCheckSeed } from "./check-seed.ts";
import { prepareSteps, type StepsContext } from "./prepare-steps.ts";
import { changedFiles, reachablePlan } from "./reachable.ts";
import { runStep, tail } from "./run-step.ts";
import { scriptCommandFrom } from "./script-command.ts";
import { fullStage, screenStage } from "./task-fitness.ts";
import { parseTestCount } from "./test-count.ts";
import { cloneAt, mergeBase, objectAt, readBlobs } from "./verify-git.ts";

/** The frozen acceptance suite's folder, beside schemas/. */
export const ACCEPTANCE_DIR = "acceptance";

export const verifyCloneOf = (stateDir: string, n: number): string =>
  path.join(stateDir, "verify", `gen-${n}`);

/** What a failed step says in `failures`. */
function why(what: string, command: string, run: StepResult, timedOut: boolean, limitMs: number): string {
  if (timedOut) return `${what}: \`${command}\` was killed after LOOM_VERIFY_TIMEOUT_MS=${limitMs} ms`;
  if (run.exitCode === null) return `${what}: \`${command}\` was killed before it exited`;
  return `${what}: \`${command}\` exited with code ${run.exitCode}`;
}

const notRun = (reason: string): StepResult => ({
  passed: false,
  exitCode: null,
  output: `not run: ${reason}`,
  durationMs: 0,
});

/** The failure a test count below main's is, or undefined when it is not below (equal is enough). */
export function testCountShortfall(
  count: number,
  baseline: number,
  base: string,
  options: { readonly summaryMissing: boolean },
): string | undefined {
  if (count >= baseline) return undefined;
  return (
    `tests: ${count} passing test(s), fewer than the ${baseline} main passes at ${base.slice(0, 12)}` +
    (options.summaryMissing ? " (no test summary found in the output of npm test)" : "")
  );
}

/**
 * schemas/ and acceptance/ of `commit` (lab/gen-N) against main, and the gate's paths it touches;
 * a change to either folder, or a committed `.loom-cache/` (check-seed.ts), is pushed onto `failures`.
 */
export async function fixedPoints(repo: string, n: number, commit: string, failures: string[]) {
  let schemaFingerprintOk = true;
  try {
    await assertSchemasUnchanged(repo, n);
  } catch (err) {
    if (!(err instanceof GitOpError) || err.code !== "SCHEMAS_CHANGED") throw err;
    schemaFingerprintOk = false;
    failures.push(`schemas: ${err.message}`);
  }
  const present = (await objectAt(repo, MAIN_REF, ACCEPTANCE_DIR)) !== undefined;
  const [onMain, onLab] = await Promise.all([
    schemaFingerprintAtRef(repo, MAIN_REF, [ACCEPTANCE_DIR]),
    schemaFingerprintAtRef(repo, commit, [ACCEPTANCE_DIR]),
  ]);
  const unchanged = onMain === onLab;
  // Not a failure: a gate change is verified like any other, then held for a person's approval.
  const [gate, cacheOnMain, cacheOnLab] = await Promise.all([
    gateChanges(repo, commit),
    objectAt(repo, MAIN_REF, CHECK_CACHE),
    objectAt(repo, commit, CHECK_CACHE),
  ]);
  if (cacheOnLab !== cacheOnMain) {
    failures.push(
      `${CHECK_CACHE}: lab/gen-${n} commits ${CHECK_CACHE}/, the verifier's own cache folder: a committed build info could make a check pass that should fail`,
    );
  }
  if (!unchanged) {
    failures.push(
      present
        ? `acceptance: lab/gen-${n} changes acceptance/, the frozen acceptance suite a Lab may not modify`
        : `acceptance: lab/gen-${n} adds acceptance/; the frozen acceptance suite is written on main, never by a Lab`,
    );
  }
  return { schemaFingerprintOk, present, unchanged, gate };
}

/** The cascade's stages, cheapest first, as the record lists them. */
export const CASCADE: readonly CascadeStageName[] = CascadeStageName.options;
/** The stages that run the candidate's Lab agent on tasks: only under LOOM_FITNESS=tasks. */
const TASK_STAGES: readonly CascadeStageName[] = ["tasks_screen", "tasks"];
/** This verification's cascade: without a task runner (LOOM_FITNESS=gates) the task stages are not part of it. */
const cascadeFor = (ctx: Pick<StepsContext, "tasks">): readonly CascadeStageName[] =>
  ctx.tasks ? CASCADE : CASCADE.filter((name) => !TASK_STAGES.includes(name));

/**
 * Stage 1 of verifying generation `n`, a cascade that stops at the first failure, cheapest first:
 * fixed points (schemas/ and acceptance/ against main) → install (only when the lockfile changed) →
 * `npm run check` → the tests the change can reach (vitest related) → `npm test` with the test count
 * against main's at the merge base → `npm run test:acceptance` (when main has acceptance/). Each in a
 * fresh container on a fresh clone of lab/gen-N under `<stateDir>/verify/gen-N`; the scripts are
 * main's. `through: "reachable"` stops after the reachable tests, and the result says it is not
 * complete. Nothing the Lab wrote about itself is read.
 */
export async function verifyMechanical(
  ctx: StepsContext,
  n: number,
  through: VerifyThrough = "full",
): Promise<MechanicalVerification> {
  const started = performance.now();
  const repo = ctx.config.repoPath;
  const limit = ctx.config.verifyTimeoutMs;
  const [commit, main] = await Promise.all([requireLabBranch(repo, n), requireMain(repo)]);
  const base = await mergeBase(repo, main, commit);
  const failures: string[] = [];
  const stages: CascadeStage[] = [];
  const clone = verifyCloneOf(ctx.config.stateDir, n);
  /** Records a stage; false when it failed (the cascade stops). */
  const stage = (
    name: CascadeStageName,
    state: CascadeStage["state"],
    durationMs: number,
    extra: Omit<CascadeStage, "name" | "state" | "durationMs"> = {},
  ) => {
    stages.push({ name, state, durationMs: Math.round(durationMs), ...extra });
    return state !== "failed";
  };
  // main's baseline is needed only by the full suite, so nothing cheaper waits for it. It is usually
  // cached from spawn time; when not, it is measured meanwhile (and cached for the next verification).
  const baselineRun: Promise<Baseline | undefined> =
    through === "full" ? baselineAt(ctx, base) : readBaseline(ctx.config.stateDir, base);
  // Observed here: a cascade that stops early never awaits it.
  baselineRun.catch(() => {});
  let baseline: Baseline | undefined;
  try {
    const fixedStarted = performance.now();
    // Independent reads of the repo: side by side.
    // allSettled: a failure of one must not let the clean-up below race a clone still being written.
    const [fixedRun, cloned] = await Promise.allSettled([
      fixedPoints(repo, n, commit, failures),
      cloneAt(repo, commit, clone),
    ]);
    for (const r of [fixedRun, cloned]) if (r.status === "rejected") throw r.reason;
    const fixed = (fixedRun as PromiseFulfilledResult<Awaited<ReturnType<typeof fixedPoints>>>).value;
    let check: StepResult = notRun("an earlier stage failed");
    let tests: StepResult & { testCount: number } = { ...notRun("an earlier stage failed"), testCount: 0 };
    let acceptanceRun: StepResult | null = null;
    let install: StepResult | null = null;
    let stopped = false;
    let complete = true;
    const taskFitness: TaskFitness = { screen: null, full: null };
    const fixedOk = stage(
      "fixed_points",
      failures.length === 0 ? "passed" : "failed",
      performance.now() - fixedStarted,
      failures.length === 0 ? {} : { detail: failures.join("; ") },
    );
    // The stages after the fixed points; each `return` stops the cascade.
    const rest = async (): Promise<void> => {
      if (!fixedOk) return;
      const subject = `gen-${n}`;
      const prepared = await prepareSteps(ctx, commit, clone, subject);
      install = prepared.install;
      if (!install) {
        stage("install", "skipped", 0, {
          detail: "the lockfile is main's: main's installed packages are reused",
        });
      } else if (!install.passed) {
        const failure = why(
          "install",
          prepared.installCommand ?? "npm ci",
          install,
          prepared.installTimedOut,
          limit,
        );
        failures.push(failure);
        check = notRun("the install step failed");
        tests = { ...notRun("the install step failed"), testCount: 0 };
        stage("install", "failed", install.durationMs, { detail: failure });
        return;
      } else stage("install", "passed", install.durationMs);
      // The scripts are main's: a candidate's package.json cannot redefine what checking or testing it means.
      const mainPackage = (await readBlobs(repo, [`${main}:package.json`])).get(`${main}:package.json`);
      const [checkCmd, testCmd, acceptanceCmd] = ["check", "test", "test:acceptance"].map((s) =>
        scriptCommandFrom(mainPackage, s),
      ) as [string, string, string];

      // The check starts from main's seed (check-seed.ts), never from a cache of the candidate's.
      await plantCheckSeed(ctx.config.stateDir, ctx.runtime.name, clone);
      // Stryker disable next-line StringLiteral: the step's name, a label
      const checked = await runStep(prepared.context, "check", checkCmd, limit);
      check = checked.result;
      if (!check.passed) {
        const failure = why("check", "npm run check", check, checked.timedOut, limit);
        failures.push(failure);
        stage("check", "failed", check.durationMs, { detail: failure });
        return;
      }
      stage("check", "passed", check.durationMs);

      const plan = reachablePlan(mainPackage, await changedFiles(repo, base, commit));
      if (plan.kind === "skip") stage("reachable_tests", "skipped", 0, { detail: plan.reason });
      else {
        // Stryker disable next-line StringLiteral: the step's name, a label
        const reached = await runStep(prepared.context, "reachable", plan.command, limit);
        const testsRun = parseTestCount(reached.output) ?? 0;
        if (!reached.result.passed) {
          const failure = why(
            "reachable tests",
            `vitest related (${plan.files.length} changed file(s))`,
            reached.result,
            reached.timedOut,
            limit,
          );
          failures.push(failure);
          tests = { ...notRun("the reachable tests failed"), testCount: 0 };
          stage("reachable_tests", "failed", reached.result.durationMs, {
            detail: `${failure}\n${tail(reached.output, 2_000)}`,
            testsRun,
          });
          return;
        }
        stage("reachable_tests", "passed", reached.result.durationMs, { testsRun });
      }
      if (ctx.tasks) {
        const screenStarted = performance.now();
        const judged = await screenStage(ctx.tasks, commit, main, ctx.signal);
        taskFitness.screen = judged.screen;
        if (!judged.passed) failures.push(judged.detail);
        const screenOk = stage(
          "tasks_screen",
          judged.passed ? "passed" : "failed",
          performance.now() - screenStarted,
          {
            detail: judged.detail,
          },
        );
        if (!screenOk) {
          tests = { ...notRun("the staged tasks failed"), testCount: 0 };
          return;
        }
      }
      if (through === "reachable") {
        complete = false;
        tests = {
          ...notRun('the verification ran through the reachable tests only (through: "reachable")'),
          testCount: 0,
        };
        stopped = true;
        return;
      }

      baseline = await baselineRun;
      // Stryker disable next-line StringLiteral: the step's name, a label
      const tested = await runStep(prepared.context, "test", testCmd, limit);
      const counted = parseTestCount(tested.output);
      tests = { ...tested.result, testCount: counted ?? 0 };
      const testFailures: string[] = [];
      if (!tests.passed) testFailures.push(why("tests", "npm test", tests, tested.timedOut, limit));
      const short = testCountShortfall(tests.testCount, baseline?.testCount ?? 0, base, {
        summaryMissing: counted === undefined && tests.exitCode !== null,
      });
      if (short) testFailures.push(short);
      failures.push(...testFailures);
      const testsOk = stage("full_tests", testFailures.length === 0 ? "passed" : "failed", tests.durationMs, {
        testsRun: tests.testCount,
        ...(testFailures.length > 0 ? { detail: testFailures.join("; ") } : {}),
      });
      if (!testsOk) return;

      if (!fixed.present) {
        stage("acceptance", "skipped", 0, { detail: "main has no acceptance/: nothing is frozen" });
      } else {
        // Stryker disable next-line StringLiteral: the step's name, a label
        const accepted = await runStep(prepared.context, "acceptance", acceptanceCmd, limit);
        acceptanceRun = accepted.result;
        if (!acceptanceRun.passed) {
          const failure = why(
            "acceptance",
            "npm run test:acceptance",
            acceptanceRun,
            accepted.timedOut,
            limit,
          );
          failures.push(failure);
          stage("acceptance", "failed", acceptanceRun.durationMs, { detail: failure });
          return;
        }
        stage("acceptance", "passed", acceptanceRun.durationMs);
      }

      if (!ctx.tasks) return;
      const tasksStarted = performance.now();
      const judged = await fullStage(ctx.tasks, commit, main, ctx.config.minGain, ctx.signal);
      taskFitness.full = judged.full;
      if (!judged.passed) failures.push(judged.detail);
      stage("tasks", judged.passed ? "passed" : "failed", performance.now() - tasksStarted, {
        detail: judged.detail,
      });
    };
    await rest();
    const reason = stopped
      ? 'not run: the verification ran through the reachable tests only (through: "reachable")'
      : "not run: an earlier stage failed";
    // The stages are recorded in order and the cascade stops at one: the rest is what did not run.
    for (const name of cascadeFor(ctx).slice(stages.length))
      stages.push({ name, state: "not_run", durationMs: 0, detail: reason });
    // Stopped before the full suite: the count main passes, when it is known already.
    baseline ??= await readBaseline(ctx.config.stateDir, base);
    return {
      passed: failures.length === 0,
      commit,
      base,
      install,
      check,
      tests,
      baselineTestCount: baseline?.testCount ?? 0,
      schemaFingerprintOk: fixed.schemaFingerprintOk,
      acceptance: { present: fixed.present, unchanged: fixed.unchanged, run: acceptanceRun },
      gate: fixed.gate,
      failures,
      durationMs: Math.round(performance.now() - started),
      stages,
      complete,
      ...(ctx.tasks ? { taskFitness } : {}),
    };
  } finally {
    // A clone that cannot be removed (files a container's user made) must not hide the verdict.
    await rm(clone, { recursive: true, force: true }).catch(() => {});
  }
}
