import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { formatAnalysis } from "../../analyze/format-analysis.ts";
import type { AnalysisReport } from "../../analyze/report-schema.ts";

export const PROPOSE_TOOL = "propose_program";

/** Bounds that keep the reflect prompt small however big the repo and the lineage grow. */
export const REFLECT_LIMITS = {
  analysisChars: 10_000,
  lineageEntries: 20,
  lessons: 10,
  lessonsChars: 6_000,
} as const;

export const REFLECT_SYSTEM = [
  "You are Loom's Prime: you choose the next improvement of Loom, a coding agent that rewrites its own TypeScript source.",
  "A Lab agent will carry out the program.md you write, in a fresh clone, and commit to lab/gen-N; the result is then verified",
  "(type check, all tests, a frozen acceptance suite, schemas unchanged, an independent LLM review) and promoted or rolled back.",
  "Propose ONE focused, verifiable improvement a Lab can finish in one session: a small reviewable diff, not a rewrite.",
  "Prefer what the analysis shows matters: oversized or very complex declarations, import cycles, unused exports, sources no test reaches.",
  "Learn from the lessons: never repeat an approach that failed for the same reason; address the reason instead.",
  "files: the files to change or create (repo-relative). acceptanceCriteria: checks a test or a command can decide.",
  "constraints must include that schemas/ and acceptance/ are never edited and that existing tests are not weakened or deleted.",
  `Answer only by calling ${PROPOSE_TOOL} once with the contract.`,
].join("\n");

function bounded(text: string, max: number, what: string): string {
  if (text.length <= max) return text.trimEnd();
  const cut = text.lastIndexOf("\n", max);
  const at = cut > max / 2 ? cut : max;
  return `${text.slice(0, at).trimEnd()}\n[loom: ${what} cut here, ${text.length - at} chars left out]`;
}

export function renderLineage(records: readonly GenerationRecord[]): string {
  if (records.length === 0) return "(no generations yet: this is the first)";
  const sorted = [...records].sort((a, b) => a.generation - b.generation);
  const fitted = sorted.filter((r) => r.outcome === "promoted" && r.fitness !== null);
  const best = fitted.reduce<GenerationRecord | undefined>(
    (b, r) => (b === undefined || (r.fitness ?? 0) > (b.fitness ?? 0) ? r : b),
    undefined,
  );
  const counts = new Map<string, number>();
  for (const r of sorted) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const shown = sorted.slice(-REFLECT_LIMITS.lineageEntries);
  return [
    `${sorted.length} generations: ${[...counts].map(([o, n]) => `${n} ${o}`).join(", ")}` +
      (best
        ? `; best fitness ${best.fitness} (gen ${best.generation})`
        : "; no promoted generation has a fitness yet"),
    ...(sorted.length > shown.length
      ? [`(older ${sorted.length - shown.length} generations not listed)`]
      : []),
    ...shown.map(
      (r) =>
        `- gen ${r.generation}${r.parent ? ` (parent ${r.parent})` : ""}: ${r.outcome}` +
        (r.fitness !== null ? `, fitness ${r.fitness}` : "") +
        (r.reason ? ` — ${r.reason.replace(/\s+/g, " ").slice(0, 160)}` : ""),
    ),
  ].join("\n");
}

export function renderLessons(lessons: readonly string[]): string {
  if (lessons.length === 0) return "(no failed generations yet)";
  const shown = lessons.slice(0, REFLECT_LIMITS.lessons);
  const text = shown.map((l) => `- ${l}`).join("\n");
  const more = lessons.length - shown.length;
  return (
    bounded(text, REFLECT_LIMITS.lessonsChars, "lessons") +
    (more > 0 ? `\n(${more} older lessons not listed)` : "")
  );
}

export function buildReflectPrompt(input: {
  analysis: AnalysisReport;
  lineage: readonly GenerationRecord[];
  lessons: readonly string[];
  guidance?: string | undefined;
}): string {
  const analysis = formatAnalysis(input.analysis, { maxItems: 8, maxApiLines: 30 });
  return [
    ...(input.guidance?.trim() ? ["# Guidance from a person", input.guidance.trim(), ""] : []),
    "# Lessons from failed generations (newest first)",
    renderLessons(input.lessons),
    "",
    "# Lineage",
    renderLineage(input.lineage),
    "",
    "# Analysis of the current main",
    bounded(analysis, REFLECT_LIMITS.analysisChars, "analysis"),
    "",
    `Call ${PROPOSE_TOOL} with the next program.md contract.`,
  ].join("\n");
}
