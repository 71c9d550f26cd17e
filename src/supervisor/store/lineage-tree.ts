import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { CascadeStageName, type MechanicalVerification } from "../../../schemas/verification.ts";

/**
 * The lineage as a tree: each generation hangs under its parent (the generation main was at when it
 * was spawned, or the archived one it built on); `parent: null` hangs under the initial main. One pure
 * derivation that `loom generations --tree` and the dashboard both draw.
 */
export interface LineageNode {
  readonly generation: number;
  readonly parent: number | null;
  /** Any outcome string the record holds, so outcomes added later show as they are. */
  readonly outcome: string;
  readonly round: number | null;
  /** 1-based place in its round, and the round's size; null before rounds. */
  readonly candidate: number | null;
  readonly of: number | null;
  readonly model: string | null;
  readonly fitness: number | null;
  /** The model proxy's cost in US dollars; null when not counted or not priced. */
  readonly costUsd: number | null;
  /** Where a rolled-back, failed, archived, screened or timed-out generation stopped; null for the others. */
  readonly stoppedAt: string | null;
  /** On the promoted path: promoted, or an ancestor of a promoted generation (its changes are on main). */
  readonly onPromotedPath: boolean;
  readonly children: readonly LineageNode[];
}

export interface RoundCost {
  readonly round: number;
  readonly generations: readonly number[];
  /** Sum of the known costs of its generations; null when none of them has a known cost. */
  readonly costUsd: number | null;
  /** How many of its generations had no known cost. */
  readonly uncosted: number;
  /** The generation of the round that was promoted, if one was. */
  readonly promoted: number | null;
}

export interface LineageTree {
  /** Generations whose parent is the initial main (or whose parent has no record), oldest first. */
  readonly roots: readonly LineageNode[];
  /** The promoted path: every promoted generation and the ancestors it carried into main, oldest first. */
  readonly promotedPath: readonly number[];
  readonly generations: number;
  readonly promoted: number;
  /** Sum of the known costs of every generation; null when none has a known cost. */
  readonly totalCostUsd: number | null;
  /** Generations whose cost is not known (before the model proxy, or an unpriced model). */
  readonly uncosted: number;
  /** totalCostUsd / promoted; null when nothing was promoted or no cost is known. */
  readonly costPerPromotedUsd: number | null;
  readonly rounds: readonly RoundCost[];
}

/** Outcomes that say why a generation is not on main; anything still in progress or promoted is not. */
const STOPPED = new Set(["rolled_back", "failed", "aborted", "timed_out", "archived", "screened"]);
const LAB_ENDED = new Set(["failed", "timed_out"]);
const REASON_WORDS = 5;

/** The names stoppedAt gives besides a reason's words: the cascade's stages, the Lab, the review, promotion. */
const STOP_POINTS: ReadonlySet<string> = new Set([...CascadeStageName.options, "lab", "review", "promotion"]);
export const isStopPoint = (stoppedAt: string): boolean => STOP_POINTS.has(stoppedAt);

/** Which stage of a verification from before the cascade failed, read from its step results. */
function failedStepOfOldRecord(m: MechanicalVerification): string | null {
  if (m.passed) return null;
  if (!m.schemaFingerprintOk) return "fixed_points";
  if (m.install && !m.install.passed) return "install";
  if (!m.check.passed) return "check";
  if (!m.tests.passed || m.tests.testCount < m.baselineTestCount) return "full_tests";
  if (m.acceptance.run && !m.acceptance.run.passed) return "acceptance";
  if (!m.acceptance.unchanged) return "fixed_points";
  return null;
}

function firstWords(text: string | null): string | null {
  const words = text?.trim().split(/\s+/).filter(Boolean) ?? [];
  if (words.length === 0) return null;
  const shown = words
    .slice(0, REASON_WORDS)
    .join(" ")
    .replace(/[.,;:]+$/, "");
  return words.length > REASON_WORDS ? `${shown}…` : shown;
}

/**
 * The stage that stopped a generation: the first failed stage of its stage-1 cascade; else "lab" when
 * its Lab failed or timed out; else "review" when the review rejected it; else, for one that passed what
 * it ran, the first stage it never reached, or "promotion" when it passed them all (a sibling won);
 * else its reason's first words.
 */
export function stoppedAt(r: GenerationRecord): string | null {
  if (!STOPPED.has(r.outcome)) return null;
  const m = r.verification?.mechanical;
  const failedStage = m?.stages
    ? (m.stages.find((s) => s.state === "failed")?.name ?? null)
    : m
      ? failedStepOfOldRecord(m)
      : null;
  if (failedStage) return failedStage;
  if (LAB_ENDED.has(r.outcome) && (r.verification === null || r.verification === undefined)) return "lab";
  const review = r.verification?.review;
  if (review && review.verdict?.approved !== true && m?.passed) return "review";
  // Passed what it ran, but the cascade stopped early (not a finalist): the first stage it never reached.
  const notRun = m?.passed ? m.stages?.find((s) => s.state === "not_run") : undefined;
  if (notRun) return notRun.name;
  // Passed everything and still not on main: a sibling scored higher.
  if (r.verification?.passed) return "promotion";
  return firstWords(r.reason);
}

const fitnessOf = (r: GenerationRecord): number | null => r.fitness ?? r.verification?.fitness?.score ?? null;

/**
 * The generations whose changes are on main: every promoted one and its ancestors (an archived parent
 * a promoted candidate built on reached main through its merge), oldest first.
 */
function promotedChain(byNumber: ReadonlyMap<number, GenerationRecord>): number[] {
  const onPath = new Set<number>();
  for (const r of byNumber.values()) {
    if (r.outcome !== "promoted") continue;
    for (let a: GenerationRecord | undefined = r; a !== undefined && !onPath.has(a.generation); ) {
      onPath.add(a.generation);
      a = a.parent === null ? undefined : byNumber.get(a.parent);
    }
  }
  return [...onPath].sort((a, b) => a - b);
}

const costOf = (r: GenerationRecord): number | null => r.modelUsage?.costUsd ?? null;

/** The sum of the costs that are known; null when none is (an unknown cost is not a free one). */
function knownSum(records: readonly GenerationRecord[]): number | null {
  const known = records.map(costOf).filter((c): c is number => c !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

export function deriveLineageTree(records: readonly GenerationRecord[]): LineageTree {
  const byNumber = new Map(records.map((r) => [r.generation, r]));
  const promotedPath = promotedChain(byNumber);
  const onPath = new Set(promotedPath);
  const childrenOf = new Map<number | null, GenerationRecord[]>();
  for (const r of records) {
    // A parent without a record (a damaged or pruned lineage) still shows its child, at the top.
    const key = r.parent !== null && byNumber.has(r.parent) ? r.parent : null;
    childrenOf.set(key, [...(childrenOf.get(key) ?? []), r]);
  }
  // Siblings oldest first, except that the one continuing main's path comes last: the path reads
  // as a spine, with each round's dead ends beside the parent they grew from.
  const order = (a: GenerationRecord, b: GenerationRecord): number =>
    Number(onPath.has(a.generation)) - Number(onPath.has(b.generation)) || a.generation - b.generation;
  const node = (r: GenerationRecord): LineageNode => ({
    generation: r.generation,
    parent: r.parent,
    outcome: r.outcome,
    round: r.round ?? null,
    candidate: r.candidate?.index ?? null,
    of: r.candidate?.of ?? null,
    model: r.candidate?.model ?? null,
    fitness: fitnessOf(r),
    costUsd: costOf(r),
    stoppedAt: stoppedAt(r),
    onPromotedPath: onPath.has(r.generation),
    children: [...(childrenOf.get(r.generation) ?? [])].sort(order).map(node),
  });
  const roots = [...(childrenOf.get(null) ?? [])].sort(order).map(node);

  const totalCostUsd = knownSum(records);
  const promoted = records.filter((r) => r.outcome === "promoted").length;
  const rounds = new Map<number, GenerationRecord[]>();
  for (const r of records)
    if (r.round !== undefined) rounds.set(r.round, [...(rounds.get(r.round) ?? []), r]);
  return {
    roots,
    promotedPath,
    generations: records.length,
    promoted,
    totalCostUsd,
    uncosted: records.filter((r) => costOf(r) === null).length,
    costPerPromotedUsd: promoted === 0 || totalCostUsd === null ? null : totalCostUsd / promoted,
    rounds: [...rounds.entries()]
      .sort(([a], [b]) => a - b)
      .map(([round, rs]) => ({
        round,
        generations: rs.map((r) => r.generation).sort((a, b) => a - b),
        costUsd: knownSum(rs),
        uncosted: rs.filter((r) => costOf(r) === null).length,
        promoted: rs.find((r) => r.outcome === "promoted")?.generation ?? null,
      })),
  };
}

export interface LineageRow {
  readonly node: LineageNode;
  readonly depth: number;
  /** Box-drawing lines before the node ("│  ├─ "), the same in the terminal and on the page. */
  readonly prefix: string;
}

/** The tree in reading order (depth first), each node with the lines that join it to its parent. */
export function lineageRows(tree: LineageTree): LineageRow[] {
  const rows: LineageRow[] = [];
  const walk = (nodes: readonly LineageNode[], depth: number, lead: string): void => {
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      rows.push({ node: n, depth, prefix: `${lead}${last ? "└─ " : "├─ "}` });
      walk(n.children, depth + 1, `${lead}${last ? "   " : "│  "}`);
    });
  };
  walk(tree.roots, 0, "");
  return rows;
}

/** "$0.0123" below a dollar (Lab runs cost cents), "$12.34" above; "–" when unknown. */
export function formatUsd(usd: number | null): string {
  if (usd === null) return "–";
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** "r3#2": candidate 2 of round 3; "–" before rounds. */
export function formatRoundPlace(n: Pick<LineageNode, "round" | "candidate">): string {
  return n.round === null ? "–" : `r${n.round}#${n.candidate ?? "?"}`;
}
