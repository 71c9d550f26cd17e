import { execa } from "execa";
import type { Verification } from "../../schemas/verification.ts";
import type { GenerationStore } from "../../src/supervisor/store/index.ts";

const sha = async (repo: string, args: string[]): Promise<string> =>
  (await execa("git", args, { cwd: repo, stdin: "ignore", reject: false })).stdout.trim();

/**
 * Records a passed verification on a verifying generation, for tests about what promotion does (git,
 * lineage, Prime restarts) whose fixture repos have no package.json to verify. What /verify and
 * /review themselves do is tested in verify-http.test.ts and verify-docker.test.ts.
 */
export async function recordPassedVerification(
  store: GenerationStore,
  repo: string,
  n: number,
): Promise<Verification> {
  // Without the branch (a test of promote's refusal) main's commit stands in for both.
  const main = await sha(repo, ["rev-parse", "main"]);
  const commit = (await sha(repo, ["rev-parse", "--verify", "--quiet", `lab/gen-${n}`])) || main;
  const base = (await sha(repo, ["merge-base", "main", commit])) || main;
  const verification = passedVerification(commit, base);
  await store.update(n, { verification });
  return verification;
}

/** A passed two-stage verification of `commit` against `base`, as the Supervisor would store it. */
export function passedVerification(commit: string, base: string): Verification {
  const step = { passed: true, exitCode: 0, output: "(recorded by the test)", durationMs: 1 };
  return {
    passed: true,
    mechanical: {
      passed: true,
      commit,
      base,
      install: null,
      check: step,
      tests: { ...step, testCount: 0 },
      baselineTestCount: 0,
      schemaFingerprintOk: true,
      acceptance: { present: false, unchanged: true, run: null },
      failures: [],
      durationMs: 1,
    },
    review: {
      verdict: { approved: true, issues: [], confidence: 1, summary: "recorded by the test" },
      error: null,
      durationMs: 1,
    },
    fitness: null,
  };
}
