import { rm } from "node:fs/promises";
import path from "node:path";
import type { MechanicalVerification, StepResult } from "../../../schemas/verification.ts";
import { schemaFingerprintAtRef } from "../git/fingerprint.ts";
import { assertSchemasUnchanged, gateChanges } from "../git/fixed-points.ts";
import { GitOpError } from "../git/git-op-error.ts";
import { MAIN_REF, requireLabBranch, requireMain } from "../git/repo-state.ts";
import { baselineAt } from "./baseline.ts";
import { prepareSteps, type StepsContext } from "./prepare-steps.ts";
import { runSteps, type StepRun } from "./run-step.ts";
import { scriptCommandFrom } from "./script-command.ts";
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
 * a change to either folder is pushed onto `failures`.
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
  const gate = await gateChanges(repo, commit);
  if (!unchanged) {
    failures.push(
      present
        ? `acceptance: lab/gen-${n} changes acceptance/, the frozen acceptance suite a Lab may not modify`
        : `acceptance: lab/gen-${n} adds acceptance/; the frozen acceptance suite is written on main, never by a Lab`,
    );
  }
  return { schemaFingerprintOk, present, unchanged, gate };
}

/**
 * Stage 1 of verifying generation `n`: a fresh clone of lab/gen-N under `<stateDir>/verify/gen-N`,
 * packages reused or installed, then `npm run check`, `npm test` and (when main has acceptance/)
 * `npm run test:acceptance`, each in a fresh container; the test count against main's at the merge
 * base; schemas/ and acceptance/ against main. Nothing the Lab wrote about itself is read.
 */
export async function verifyMechanical(ctx: StepsContext, n: number): Promise<MechanicalVerification> {
  const started = performance.now();
  const repo = ctx.config.repoPath;
  const limit = ctx.config.verifyTimeoutMs;
  const [commit, main] = await Promise.all([requireLabBranch(repo, n), requireMain(repo)]);
  const base = await mergeBase(repo, main, commit);
  const failures: string[] = [];
  const clone = verifyCloneOf(ctx.config.stateDir, n);
  try {
    // Independent reads of the repo: side by side (the baseline is usually cached from spawn time).
    // allSettled: a failure of one must not let the clean-up below race a clone still being written.
    const [fixedRun, baselineRun, cloned] = await Promise.allSettled([
      fixedPoints(repo, n, commit, failures),
      baselineAt(ctx, base),
      cloneAt(repo, commit, clone),
    ]);
    for (const r of [fixedRun, baselineRun, cloned]) if (r.status === "rejected") throw r.reason;
    const fixed = (fixedRun as PromiseFulfilledResult<Awaited<ReturnType<typeof fixedPoints>>>).value;
    const baseline = (baselineRun as PromiseFulfilledResult<Awaited<ReturnType<typeof baselineAt>>>).value;
    const subject = `gen-${n}`;
    const prepared = await prepareSteps(ctx, commit, clone, subject);
    const install = prepared.install;
    let check: StepResult;
    let tests: StepResult & { testCount: number };
    let acceptanceRun: StepResult | null = null;
    let counted: number | undefined;
    if (install && !install.passed) {
      const command = prepared.installCommand ?? "npm ci";
      failures.push(why("install", command, install, prepared.installTimedOut, limit));
      check = notRun("the install step failed");
      tests = { ...notRun("the install step failed"), testCount: 0 };
    } else {
      const acceptance = fixed.present && fixed.unchanged;
      // One container for all three; check and tests side by side on the two cores. The scripts are
      // main's: a candidate's package.json cannot redefine what checking or testing it means.
      const mainPackage = (await readBlobs(repo, [`${main}:package.json`])).get(`${main}:package.json`);
      const [checkCmd, testCmd, acceptanceCmd] = ["check", "test", "test:acceptance"].map((s) =>
        scriptCommandFrom(mainPackage, s),
      ) as [string, string, string];
      const runs = await runSteps(
        prepared.context,
        [
          { name: "check", command: checkCmd, parallel: true },
          { name: "test", command: testCmd, parallel: true },
          ...(acceptance ? [{ name: "acceptance", command: acceptanceCmd }] : []),
        ],
        limit,
      );
      const ran = (name: string): StepRun => runs.get(name) as StepRun;
      const checked = ran("check");
      check = checked.result;
      if (!check.passed) failures.push(why("check", "npm run check", check, checked.timedOut, limit));
      const tested = ran("test");
      counted = parseTestCount(tested.output);
      tests = { ...tested.result, testCount: counted ?? 0 };
      if (!tests.passed) failures.push(why("tests", "npm test", tests, tested.timedOut, limit));
      if (acceptance) {
        const accepted = ran("acceptance");
        acceptanceRun = accepted.result;
        if (!acceptanceRun.passed) {
          failures.push(
            why("acceptance", "npm run test:acceptance", acceptanceRun, accepted.timedOut, limit),
          );
        }
      }
    }
    const short = testCountShortfall(tests.testCount, baseline.testCount, base, {
      summaryMissing: counted === undefined && tests.exitCode !== null,
    });
    if (short) failures.push(short);
    return {
      passed: failures.length === 0,
      commit,
      base,
      install,
      check,
      tests,
      baselineTestCount: baseline.testCount,
      schemaFingerprintOk: fixed.schemaFingerprintOk,
      acceptance: { present: fixed.present, unchanged: fixed.unchanged, run: acceptanceRun },
      gate: fixed.gate,
      failures,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    // A clone that cannot be removed (files a container's user made) must not hide the verdict.
    await rm(clone, { recursive: true, force: true }).catch(() => {});
  }
}
