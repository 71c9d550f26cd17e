import type { GenerationRecord } from "../../schemas/generation-record.ts";
import { ROUND_LAB_MODELS } from "./demo-script.ts";

/** What each candidate of `loom demo --candidates 3` must end as, by the model it drew. */
const EXPECTED = {
  [ROUND_LAB_MODELS[0]]: "rolled_back",
  [ROUND_LAB_MODELS[1]]: "archived",
  [ROUND_LAB_MODELS[2]]: "promoted",
} as const;

export const archiveRef = (generation: number): string => `refs/loom/archive/gen-${generation}`;

export interface RoundReport {
  /** One line per candidate, then why the archived one scored lower. */
  readonly lines: string[];
  /** What differs from the demo's promise; empty when the round ended exactly as scripted. */
  readonly problems: string[];
}

const seconds = (ms: number | undefined): string => (ms === undefined ? "?" : `${(ms / 1000).toFixed(1)} s`);

/** The first stage that failed, if any: the one that stopped the candidate. */
export function stoppedAt(r: GenerationRecord): string | undefined {
  return r.verification?.mechanical.stages?.find((s) => s.state === "failed")?.name;
}

function times(r: GenerationRecord): string {
  const m = r.verification?.mechanical;
  const stages = (m?.stages ?? [])
    .filter((s) => s.state === "passed" || s.state === "failed")
    .map((s) => `${s.name} ${seconds(s.durationMs)}`)
    .join(", ");
  const total = r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.createdAt) : undefined;
  const review = r.verification?.review ? `, review ${seconds(r.verification.review.durationMs)}` : "";
  return `stage 1 ${seconds(m?.durationMs)} (${stages || "no stage ran"})${review}; spawn to end ${seconds(total)}`;
}

/** The first failing test vitest names in a stage's output (`FAIL  test/x.test.ts > its name`). */
function failingTest(r: GenerationRecord): string | undefined {
  const detail = r.verification?.mechanical.stages?.find((s) => s.state === "failed")?.detail ?? "";
  return /^\s*FAIL\s+(.+)$/m.exec(detail)?.[1]?.trim();
}

function candidateLine(r: GenerationRecord): string {
  const who = `gen-${r.generation}  candidate ${r.candidate?.index ?? "?"} (${r.candidate?.model ?? "?"})`;
  const stage = stoppedAt(r);
  const failed = failingTest(r);
  const result =
    stage !== undefined
      ? `stopped at ${stage}${failed ? ` (${failed})` : ""}`
      : r.fitness !== null
        ? `fitness ${r.fitness}`
        : `no fitness${r.reason ? `: ${r.reason}` : ""}`;
  return `${who}  ${r.outcome.padEnd(11)}  ${result}\n    ${times(r)}`;
}

/** Why `loser` scored below `winner`: each fitness component where it is lower. */
function lowerOn(loser: GenerationRecord, winner: GenerationRecord): string[] {
  const a = loser.verification?.fitness?.components ?? {};
  const b = winner.verification?.fitness?.components ?? {};
  const worse: string[] = [];
  if ((a.size ?? 0) < (b.size ?? 0)) {
    worse.push(`size ${a.size} vs ${b.size} (${a.changedLines} vs ${b.changedLines} changed lines)`);
  }
  if ((a.review ?? 0) < (b.review ?? 0)) worse.push(`review confidence ${a.review} vs ${b.review}`);
  if ((a.issues ?? 0) < (b.issues ?? 0)) {
    const listed = loser.verification?.review?.verdict?.issues ?? [];
    worse.push(`issues ${a.issues} vs ${b.issues} (the reviewer listed: ${listed.join("; ")})`);
  }
  if ((a.speed ?? 0) < (b.speed ?? 0)) worse.push(`test speed ${a.speed} vs ${b.speed}`);
  return worse;
}

/**
 * Reads the round of `loom demo --candidates 3` from the records and refs: the careless candidate
 * stopped at the reachable tests (its full suite never ran), the verbose one verified in full,
 * scored lower and archived, the tidy one promoted and tagged.
 */
export function roundReport(
  records: readonly GenerationRecord[],
  refs: readonly string[],
  tags: readonly string[],
): RoundReport {
  const round = records.filter((r) => r.round !== undefined);
  const problems: string[] = [];
  if (round.length !== 3 || new Set(round.map((r) => r.round)).size !== 1) {
    problems.push(`expected one round of 3 candidates, found ${round.length} generation(s) in rounds`);
  }
  const byModel = new Map(round.map((r) => [r.candidate?.model, r]));
  for (const [model, outcome] of Object.entries(EXPECTED)) {
    const r = byModel.get(model);
    if (!r) problems.push(`no candidate drew ${model}`);
    else if (r.outcome !== outcome) {
      problems.push(
        `gen-${r.generation} (${model}) ended ${r.outcome}${r.reason ? ` (${r.reason})` : ""}, not ${outcome}`,
      );
    }
  }
  const [careless, verbose, tidy] = ROUND_LAB_MODELS.map((m) => byModel.get(m));
  if (careless) {
    const stages = careless.verification?.mechanical.stages ?? [];
    if (stoppedAt(careless) !== "reachable_tests") {
      problems.push(
        `gen-${careless.generation} was not stopped at reachable_tests (first failed stage: ${stoppedAt(careless) ?? "none"})`,
      );
    }
    const full = stages.find((s) => s.name === "full_tests");
    if (full && full.state !== "not_run") {
      problems.push(`gen-${careless.generation} ran the full suite (${full.state}) after failing earlier`);
    }
  }
  if (verbose) {
    if (!refs.includes(archiveRef(verbose.generation))) {
      problems.push(`gen-${verbose.generation} has no ${archiveRef(verbose.generation)}`);
    }
    if (verbose.verification?.mechanical.complete === false || !verbose.verification?.review) {
      problems.push(`gen-${verbose.generation} was archived without the full suite and the review`);
    }
  }
  if (tidy && !tags.includes(`gen-${tidy.generation}`)) {
    problems.push(`main has no tag gen-${tidy.generation}`);
  }
  if (verbose && tidy && !((verbose.fitness ?? 0) < (tidy.fitness ?? 0))) {
    problems.push(
      `gen-${verbose.generation}'s fitness ${verbose.fitness} is not below gen-${tidy.generation}'s ${tidy.fitness}`,
    );
  }
  const lines = round.map(candidateLine);
  if (verbose && tidy && verbose.fitness !== null && tidy.fitness !== null) {
    const worse = lowerOn(verbose, tidy);
    lines.push(
      `gen-${verbose.generation} scored ${verbose.fitness} against gen-${tidy.generation}'s ${tidy.fitness}, lower on ${worse.join("; ") || "no component"}`,
    );
  }
  return { lines, problems };
}
