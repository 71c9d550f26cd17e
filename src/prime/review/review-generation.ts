import type { GenerationDiff } from "../../../schemas/generation-diff.ts";
import { ReviewVerdict } from "../../../schemas/review.ts";
import type { ReviewStage } from "../../../schemas/verification.ts";
import type { ModelPort } from "../../agent/model-port.ts";
import { errorMessage } from "../../shared/errors.ts";
import { callForcedTool, toolFor } from "../forced-tool.ts";
import { buildReviewPrompt, DEFAULT_REVIEW_DIFF_CHARS, REVIEW_TOOL } from "./review-prompt.ts";

export interface ReviewOptions {
  readonly model: ModelPort;
  readonly diff: GenerationDiff;
  readonly signal?: AbortSignal;
  /** Budget for the diff text in the prompt (default 60,000 chars); a larger diff is summarised. */
  readonly maxDiffChars?: number;
}

const REVIEW_TOOL_DEF = toolFor(
  REVIEW_TOOL,
  "Submit your verdict on this generation. Call it exactly once.",
  ReviewVerdict,
);

/**
 * Stage-2 verification: the model's verdict on program.md + diff through one forced tool call. Never
 * throws for a model failure: no call, an invalid verdict or a model error is `verdict: null` with
 * `error` saying why, which counts as a rejection.
 */
export async function reviewGeneration(options: ReviewOptions): Promise<ReviewStage> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const budget = options.maxDiffChars ?? DEFAULT_REVIEW_DIFF_CHARS;
  if (!Number.isInteger(budget) || budget < 1_000) {
    throw new RangeError(`maxDiffChars must be an integer of at least 1000, got ${budget}`);
  }
  const prompt = buildReviewPrompt(options.diff, budget);
  try {
    const result = await callForcedTool({
      model: options.model,
      system: prompt.system,
      messages: [{ role: "user", content: prompt.user }],
      tool: REVIEW_TOOL_DEF,
      schema: ReviewVerdict,
      maxTokens: 4_096,
      signal: options.signal,
    });
    if (!result.ok) return { verdict: null, error: `review rejected: ${result.why}`, durationMs: elapsed() };
    return { verdict: result.value, error: null, durationMs: elapsed() };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = errorMessage(error);
    return {
      verdict: null,
      error: `review model call failed${typeof code === "string" ? ` (${code})` : ""}: ${message}`,
      durationMs: elapsed(),
    };
  }
}
