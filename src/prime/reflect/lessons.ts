import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { clip } from "../forced-tool.ts";

/** Outcomes whose reason the next reflect must learn from. */
const LESSON_OUTCOMES: readonly GenerationRecord["outcome"][] = ["failed", "rolled_back", "timed_out"];
const LESSON_MAX_CHARS = 900;
const OUTPUT_TAIL_CHARS = 300;

const tail = (text: string): string => {
  const t = text.trim();
  return t.length <= OUTPUT_TAIL_CHARS ? t : `…${t.slice(-OUTPUT_TAIL_CHARS)}`;
};

/**
 * Why each failed, rolled-back or timed-out generation failed, newest first, one bounded line each:
 * the record's reason, then what verification found (stage-1 failures with the failing step's output
 * tail, the reviewer's issues or error).
 */
export function lessonsFrom(records: readonly GenerationRecord[]): string[] {
  return [...records]
    .filter((r) => LESSON_OUTCOMES.includes(r.outcome))
    .sort((a, b) => b.generation - a.generation)
    .map((r) => {
      const parts = [`gen ${r.generation} ${r.outcome}: ${r.reason?.trim() || "(no reason recorded)"}`];
      const v = r.verification;
      if (v) {
        const m = v.mechanical;
        if (m.failures.length) parts.push(`verification failures: ${m.failures.join("; ")}`);
        const failing = !m.check.passed
          ? { step: "check", output: m.check.output }
          : !m.tests.passed
            ? { step: "tests", output: m.tests.output }
            : undefined;
        if (failing) parts.push(`${failing.step} output: ${tail(failing.output)}`);
        const review = v.review;
        if (review?.verdict && (!review.verdict.approved || review.verdict.issues.length)) {
          parts.push(
            `review ${review.verdict.approved ? "approved with" : "rejected:"} issues: ${review.verdict.issues.join("; ") || "(none listed)"}`,
          );
        } else if (review?.error) parts.push(`review error: ${review.error}`);
      }
      return clip(parts.join(". ").replace(/\s+/g, " "), LESSON_MAX_CHARS);
    });
}
