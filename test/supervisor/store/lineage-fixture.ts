import { mkdir } from "node:fs/promises";
import path from "node:path";
import { GenerationRecord } from "../../../schemas/generation-record.ts";
import { type CascadeStage, CascadeStageName, type Verification } from "../../../schemas/verification.ts";
import { writeRecord } from "../../../src/supervisor/store/record-file.ts";
import { record, verification } from "../../prime/records.ts";

// Records verified under LOOM_FITNESS=gates: the task stages are not part of their cascade.
const CASCADE: readonly CascadeStage["name"][] = CascadeStageName.options.filter(
  (name) => name !== "tasks_screen" && name !== "tasks",
);

/**
 * The cascade's stages as stage 1 records them: every stage before `failedAt` passed, `failedAt`
 * failed, the rest not run; with no failure, every stage passed (or those after `through` not run).
 */
export function stages(opts: { failedAt?: CascadeStage["name"]; through?: CascadeStage["name"] } = {}) {
  const stop = CASCADE.indexOf(opts.failedAt ?? opts.through ?? "acceptance");
  return CASCADE.map((name, i): CascadeStage => {
    if (i < stop || (i === stop && opts.failedAt === undefined))
      return {
        name,
        state: "passed",
        durationMs: 1_000 * (i + 1),
        ...(name.endsWith("tests") ? { testsRun: 12 } : {}),
      };
    if (i === stop)
      return { name, state: "failed", durationMs: 2_500, detail: `${name} failed: 1 test of 4 failed` };
    return { name, state: "not_run", durationMs: 0, detail: `${CASCADE[stop]} failed` };
  });
}

/** A verification carrying cascade stages. */
export function cascadeVerification(
  opts: Parameters<typeof verification>[0] & {
    failedAt?: CascadeStage["name"];
    through?: CascadeStage["name"];
  },
): Verification {
  const v = verification(opts);
  return {
    ...v,
    mechanical: {
      ...v.mechanical,
      stages: stages(opts),
      ...(opts.through && opts.through !== "acceptance" ? { complete: false } : {}),
    },
  };
}

export const costed = (costUsd: number | null, requests = 4) => ({
  source: "model-proxy" as const,
  requests,
  costUsd,
  unpricedModels: costUsd === null ? ["some-model"] : [],
  budgetTokens: 0,
  budgetExceeded: false,
  labReported: null,
});

/** A schema-valid record of a round's candidate with cost, parent and anything else given. */
export function candidate(
  generation: number,
  outcome: string,
  extra: {
    round: number;
    index: number;
    of: number;
    parent: number | null;
    costUsd?: number | null;
    fitness?: number | null;
    reason?: string | null;
    verification?: Verification | null;
    model?: string;
    hint?: string;
  },
): GenerationRecord {
  const base = record(generation, "pending", { parent: extra.parent });
  const terminal = !["pending", "running", "verifying"].includes(outcome);
  return GenerationRecord.parse({
    ...base,
    outcome,
    round: extra.round,
    candidate: {
      index: extra.index,
      of: extra.of,
      ...(extra.model ? { model: extra.model } : {}),
      ...(extra.hint ? { hint: extra.hint } : {}),
    },
    finishedAt: terminal ? "2026-01-01T00:10:00.000Z" : null,
    reason: extra.reason ?? null,
    fitness: extra.fitness ?? null,
    verification: extra.verification ?? null,
    ...(extra.costUsd !== undefined ? { modelUsage: costed(extra.costUsd) } : {}),
  });
}

/**
 * Round 1 of three candidates from the initial main: gen-1 promoted, gen-2 rolled back at the
 * reachable tests, gen-3 passed every stage, scored lower and was archived.
 */
export function roundOfThree(): GenerationRecord[] {
  return [
    candidate(1, "promoted", {
      round: 1,
      index: 1,
      of: 3,
      parent: null,
      costUsd: 0.012,
      fitness: 0.82,
      model: "model-a",
      hint: "make greet() pure",
      verification: cascadeVerification({
        verdict: { approved: true, issues: [], confidence: 0.9, summary: "ok" },
        score: 0.82,
      }),
    }),
    candidate(2, "rolled_back", {
      round: 1,
      index: 2,
      of: 3,
      parent: null,
      costUsd: 0.009,
      model: "model-b",
      hint: "rewrite the parser",
      reason: "stage 1 failed at the reachable tests: 1 test of 4 failed",
      verification: cascadeVerification({
        failures: ["reachable tests failed"],
        failedAt: "reachable_tests",
      }),
    }),
    candidate(3, "archived", {
      round: 1,
      index: 3,
      of: 3,
      parent: null,
      costUsd: 0.015,
      fitness: 0.61,
      model: "model-a",
      reason: "passed every stage but gen-1 scored higher (0.82 > 0.61); kept as refs/loom/archive/gen-3",
      verification: cascadeVerification({
        verdict: { approved: true, issues: [], confidence: 0.8, summary: "ok" },
        score: 0.61,
      }),
    }),
  ];
}

/** Writes records into `<stateDir>/generations/` as the Supervisor's store keeps them. */
export async function writeRecords(stateDir: string, records: readonly GenerationRecord[]): Promise<void> {
  await mkdir(path.join(stateDir, "generations"), { recursive: true });
  for (const r of records)
    await writeRecord(path.join(stateDir, "generations", `gen-${r.generation}.json`), r);
}
