import type { Verification } from "../../../schemas/verification.ts";
import { VerifyRequest } from "../../../schemas/verification.ts";
import { defineTool } from "../../agent/tool.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { PrimeCoreDeps, PrimeToolDeps } from "../ports.ts";
import { describeVerification } from "./describe.ts";

const DEFAULT_VERIFY_WAIT_MS = 60 * 60_000;

/** ReviewRequest.error's limit. */
const ERROR_MAX_CHARS = 4_000;

/** Said on the record when stage 2 was skipped, so every verification has both stages accounted for. */
export const STAGE_ONE_FAILED = "stage 1 failed";

/**
 * Both stages: stage 1 in a fresh container (POST /verify); only if it passed, the LLM review of the
 * diff. Either way the review stage is recorded (POST /review), so the record says why it did not pass.
 */
export async function verifyGeneration(
  deps: PrimeCoreDeps,
  generation: number,
  signal?: AbortSignal,
): Promise<Verification> {
  const mechanical = await deps.client.verify(generation, signal);
  if (!mechanical.passed) {
    return deps.client.review({ generation, verdict: null, error: STAGE_ONE_FAILED, durationMs: 0 }, signal);
  }
  const diff = await deps.client.diff(generation, signal);
  const started = performance.now();
  const stage = await deps
    .review({ model: deps.model, diff, ...(signal ? { signal } : {}) })
    .catch((err: unknown) => ({
      verdict: null,
      error: `the review failed: ${errorMessage(err)}`,
      durationMs: performance.now() - started,
    }));
  return deps.client.review(
    {
      generation,
      verdict: stage.verdict,
      error: stage.error === null ? null : stage.error.slice(0, ERROR_MAX_CHARS),
      durationMs: stage.durationMs,
    },
    signal,
  );
}

export function verifyGenerationTool(deps: PrimeToolDeps) {
  return defineTool({
    name: "verify_generation",
    description:
      "Verify a generation whose Lab is done (outcome verifying): stage 1 runs install, check, the tests and the frozen acceptance suite on lab/gen-N in a fresh container; if that passes, stage 2 is your independent LLM review of the diff against program.md. Records both on the generation and returns them. Takes minutes.",
    // Always the full cascade: a verification the tool returns is one a promotion can rest on.
    input: VerifyRequest.pick({ generation: true }),
    effect: "self-modify",
    // Stage 1 plus the review's model calls.
    timeoutMs: (deps.verifyWaitMs ?? DEFAULT_VERIFY_WAIT_MS) + 30 * 60_000,
    run: async ({ generation }, { signal }) => {
      const verification = await verifyGeneration(deps, generation, signal);
      return { content: describeVerification(generation, verification), details: verification };
    },
  });
}
