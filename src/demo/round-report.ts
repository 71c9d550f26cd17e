import type { GenerationRecord } from "../../schemas/generation-record.ts";
import { type RoundCandidate, roundCandidates } from "./demo-script.ts";

type Expected = "rolled_back" | "archived" | "promoted";

/**
 * What each candidate of a demo round must end as: the careless ones are rolled back, the best role
 * that passes (tidy, else verbose) is promoted, and any other that passes is archived.
 */
function expectedOutcomes(candidates: readonly RoundCandidate[]): Map<string, Expected> {
  const best = candidates.some((c) => c.role === "tidy") ? "tidy" : "verbose";
  return new Map(
    candidates.map((c) => [
      c.model,
      c.role === "careless" ? "rolled_back" : c.role === best ? "promoted" : "archived",
    ]),
  );
}

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
 * Reads a demo round from the records and refs — by default `loom demo --candidates 3`'s: the careless
 * candidate stopped at the reachable tests (its full suite never ran), the verbose one verified in
 * full, scored lower and archived, the tidy one promoted and tagged. `candidates` names another
 * round's parts (roundCandidates(k)).
 */
export function roundReport(
  records: readonly GenerationRecord[],
  refs: readonly string[],
  tags: readonly string[],
  candidates: readonly RoundCandidate[] = roundCandidates(3),
): RoundReport {
  const round = records.filter((r) => r.round !== undefined);
  const problems: string[] = [];
  const k = candidates.length;
  if (round.length !== k || new Set(round.map((r) => r.round)).size !== 1) {
    problems.push(`expected one round of ${k} candidates, found ${round.length} generation(s) in rounds`);
  }
  const byModel = new Map(round.map((r) => [r.candidate?.model, r]));
  const expected = expectedOutcomes(candidates);
  for (const [model, outcome] of expected) {
    const r = byModel.get(model);
    if (!r) problems.push(`no candidate drew ${model}`);
    else if (r.outcome !== outcome) {
      problems.push(
        `gen-${r.generation} (${model}) ended ${r.outcome}${r.reason ? ` (${r.reason})` : ""}, not ${outcome}`,
      );
    }
  }
  const drew = (outcome: Expected) =>
    [...expected].flatMap(([model, o]) => {
      const r = o === outcome ? byModel.get(model) : undefined;
      return r ? [r] : [];
    });
  for (const broken of drew("rolled_back")) {
    const stages = broken.verification?.mechanical.stages ?? [];
    if (stoppedAt(broken) !== "reachable_tests") {
      problems.push(
        `gen-${broken.generation} was not stopped at reachable_tests (first failed stage: ${stoppedAt(broken) ?? "none"})`,
      );
    }
    const full = stages.find((s) => s.name === "full_tests");
    if (full && full.state !== "not_run") {
      problems.push(`gen-${broken.generation} ran the full suite (${full.state}) after failing earlier`);
    }
  }
  const archived = drew("archived");
  for (const kept of archived) {
    if (!refs.includes(archiveRef(kept.generation))) {
      problems.push(`gen-${kept.generation} has no ${archiveRef(kept.generation)}`);
    }
    if (kept.verification?.mechanical.complete === false || !kept.verification?.review) {
      problems.push(`gen-${kept.generation} was archived without the full suite and the review`);
    }
  }
  const [winner] = drew("promoted");
  if (winner && !tags.includes(`gen-${winner.generation}`)) {
    problems.push(`main has no tag gen-${winner.generation}`);
  }
  for (const kept of archived) {
    if (winner && !((kept.fitness ?? 0) < (winner.fitness ?? 0))) {
      problems.push(
        `gen-${kept.generation}'s fitness ${kept.fitness} is not below gen-${winner.generation}'s ${winner.fitness}`,
      );
    }
  }
  const lines = round.map(candidateLine);
  for (const kept of archived) {
    if (!winner || kept.fitness === null || winner.fitness === null) continue;
    const worse = lowerOn(kept, winner);
    lines.push(
      `gen-${kept.generation} scored ${kept.fitness} against gen-${winner.generation}'s ${winner.fitness}, lower on ${worse.join("; ") || "no component"}`,
    );
  }
  return { lines, problems };
}
