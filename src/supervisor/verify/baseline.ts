import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { CommitSha } from "../../../schemas/supervisor.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { SingleFlight } from "../../shared/keyed-queue.ts";
import { prepareSteps, type StepsContext } from "./prepare-steps.ts";
import { runStep } from "./run-step.ts";
import { scriptCommand } from "./script-command.ts";
import { parseTestCount } from "./test-count.ts";
import { cloneAt } from "./verify-git.ts";

/** What main's own tests showed at one commit: the count a Lab's branch may not fall below. */
export const Baseline = z.strictObject({
  version: z.literal(1),
  commit: CommitSha,
  testCount: z.number().int().nonnegative(),
  /** How long `npm test` took; null when it could not run (main failed to install at this commit). */
  durationMs: z.number().nonnegative().nullable(),
  /** run: measured here; promotion: the promoted branch's verified count, for its merge commit. */
  source: z.enum(["run", "promotion"]),
  at: z.iso.datetime(),
});
export type Baseline = z.infer<typeof Baseline>;

export const baselineFile = (stateDir: string, commit: string): string =>
  path.join(stateDir, "baselines", `${commit}.json`);

/** The cached baseline, or undefined when there is none (or it is unreadable, so it is measured again). */
export async function readBaseline(stateDir: string, commit: string): Promise<Baseline | undefined> {
  try {
    // Stryker disable next-line StringLiteral: a Buffer read without encoding is JSON.parse'd as the same utf8 text
    const text = await readFile(baselineFile(stateDir, commit), "utf8");
    const parsed = Baseline.safeParse(JSON.parse(text));
    return parsed.success && parsed.data.commit === commit ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeBaseline(stateDir: string, baseline: Baseline): Promise<void> {
  const file = baselineFile(stateDir, baseline.commit);
  await mkdir(path.dirname(file), { recursive: true });
  await atomicWriteFile(file, `${JSON.stringify(Baseline.parse(baseline), null, 2)}\n`);
}

/** One measurement per commit at a time, however many verifications ask for it. */
const measuring = new SingleFlight<Baseline>();

/**
 * The baseline at `commit`: cached in `<stateDir>/baselines/<sha>.json`, else measured by running main's
 * `npm test` at that commit exactly as a Lab's branch is run (fresh clone, fresh container), once.
 */
export function baselineAt(ctx: StepsContext, commit: string): Promise<Baseline> {
  return measuring.run(`${ctx.config.stateDir}\0${commit}`, async () => {
    const cached = await readBaseline(ctx.config.stateDir, commit);
    if (cached) return cached;
    const measured = await measure(ctx, commit);
    await writeBaseline(ctx.config.stateDir, measured);
    return measured;
  });
}

async function measure(ctx: StepsContext, commit: string): Promise<Baseline> {
  // Stryker disable next-line StringLiteral,MethodExpression: the clone folder's name, a label
  const clone = path.join(ctx.config.stateDir, "verify", `base-${commit.slice(0, 12)}`);
  try {
    await cloneAt(ctx.config.repoPath, commit, clone);
    // Stryker disable next-line StringLiteral: the container's subject, a label
    const subject = `base-${commit.slice(0, 12)}`;
    const steps = await prepareSteps(ctx, commit, clone, subject);
    if (steps.install && !steps.install.passed) {
      // Main itself cannot install at this commit: no count to hold a branch to.
      return {
        version: 1,
        commit,
        testCount: 0,
        durationMs: null,
        source: "run",
        at: new Date().toISOString(),
      };
    }
    const run = await runStep(
      steps.context,
      // Stryker disable next-line StringLiteral: the step's name, a label
      "baseline",
      await scriptCommand(clone, "test"),
      ctx.config.verifyTimeoutMs,
    );
    return {
      version: 1,
      commit,
      testCount: parseTestCount(run.output) ?? 0,
      durationMs: run.result.durationMs,
      source: "run",
      at: new Date().toISOString(),
    };
  } finally {
    // Stryker disable next-line BooleanLiteral: an rm error is swallowed by the catch either way
    await rm(clone, { recursive: true, force: true }).catch(() => {});
  }
}
