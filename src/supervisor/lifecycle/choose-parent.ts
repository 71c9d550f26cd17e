import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { InvalidInputError } from "../errors.ts";
import { archiveRef } from "../git/archive.ts";
import { labRef, MAIN_REF } from "../git/repo-state.ts";

/** Where a candidate starts: main (its latest promoted generation, null before any) or an archived one. */
export interface ParentChoice {
  /** The record's `parent`. */
  readonly generation: number | null;
  /** The commit the Lab's branch starts from. */
  readonly ref: string;
  /** Kept after a round's cheap stages only: verified in full before a child may build on it. */
  readonly screened?: true;
}

/** One node a candidate may build on, with what the selection weighs. */
export interface ParentNode extends ParentChoice {
  readonly score: number;
  readonly children: number;
}

/** A stepping stone whose fitness is not known (no review, or only the cheap stages): the middle of the scale. */
const UNKNOWN_SCORE = 0.5;

/**
 * The Darwin Gödel Machine's parent weight: sigmoid(10·(score − 0.5)) / (1 + children). A good score
 * is preferred, and a node that already has many children less so, so the search keeps exploring.
 */
export const parentWeight = (score: number, children: number): number =>
  1 / (1 + Math.exp(-10 * (score - 0.5))) / (1 + children);

const fitnessOf = (r: GenerationRecord): number | null => r.fitness ?? r.verification?.fitness?.score ?? null;

/**
 * What a candidate may build on: main, every archived generation (it passed every stage but was not
 * promoted; scored by its fitness, or the middle of the scale without a review), and every screened
 * one (it passed a round's cheap stages but was not a finalist; scored as unknown, and verified in full
 * before a child is built on it: `screened` says so).
 */
export function parentPool(lineage: readonly GenerationRecord[]): ParentNode[] {
  const childrenOf = (g: number | null) => lineage.filter((r) => r.parent === g).length;
  const main = lineage.filter((r) => r.outcome === "promoted").at(-1);
  const mainNode: ParentNode = {
    generation: main?.generation ?? null,
    ref: MAIN_REF,
    // The initial main has no fitness: it is the middle of the scale, as good as a coin toss.
    score: main ? (fitnessOf(main) ?? 0.5) : 0.5,
    children: childrenOf(main?.generation ?? null),
  };
  const archived = lineage.flatMap((r): ParentNode[] => {
    const m = r.verification?.mechanical;
    if (!m?.passed) return [];
    const children = childrenOf(r.generation);
    if (r.outcome === "screened")
      return [
        {
          generation: r.generation,
          ref: labRef(r.generation),
          score: UNKNOWN_SCORE,
          children,
          screened: true,
        },
      ];
    if (r.outcome !== "archived" || m.complete === false) return [];
    return [
      {
        generation: r.generation,
        ref: archiveRef(r.generation),
        score: fitnessOf(r) ?? UNKNOWN_SCORE,
        children,
      },
    ];
  });
  return [mainNode, ...archived];
}

/**
 * Parents for `k` candidates. `main`: every candidate builds on main (the original's behaviour).
 * `archive`: each is drawn from the pool with the DGM weight; a node drawn counts as one more child
 * for the next draw, so a round spreads over its stepping stones. `explicit` (a spawn's `parent`)
 * must be in the pool.
 */
export function chooseParents(
  lineage: readonly GenerationRecord[],
  k: number,
  mode: "main" | "archive",
  options: { readonly explicit?: number; readonly random?: () => number } = {},
): ParentChoice[] {
  const pool = parentPool(lineage);
  const [main] = pool as [ParentNode, ...ParentNode[]];
  const pick = ({ generation, ref, screened }: ParentNode): ParentChoice => ({
    generation,
    ref,
    ...(screened ? { screened } : {}),
  });
  if (options.explicit !== undefined) {
    const node = pool.find((p) => p.generation === options.explicit);
    if (!node) {
      const archived = pool.slice(1).map((p) => `gen-${p.generation}`);
      throw new InvalidInputError(
        "INVALID_SPAWN",
        `parent ${options.explicit} is not a generation a candidate can build on; accepted: main's latest promoted ` +
          `generation (${main.generation === null ? "none yet: leave parent out" : `gen-${main.generation}`})` +
          ` or an archived or screened generation (${archived.length > 0 ? archived.join(", ") : "none yet"})`,
      );
    }
    return Array.from({ length: k }, () => pick(node));
  }
  if (mode === "main") return Array.from({ length: k }, () => pick(main));
  const random = options.random ?? Math.random;
  const children = new Map(pool.map((p) => [p, p.children]));
  return Array.from({ length: k }, () => {
    const weights = pool.map((p) => parentWeight(p.score, children.get(p) ?? 0));
    const total = weights.reduce((a, b) => a + b, 0);
    let at = random() * total;
    let chosen = pool[pool.length - 1] as ParentNode;
    for (const [i, w] of weights.entries()) {
      if (at < w) {
        chosen = pool[i] as ParentNode;
        break;
      }
      at -= w;
    }
    children.set(chosen, (children.get(chosen) ?? 0) + 1);
    return pick(chosen);
  });
}
