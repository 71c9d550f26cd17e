import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { MechanicalVerification, Verification } from "../../../schemas/verification.ts";
import { ToolError } from "../../agent/tool.ts";
import { totalTokens } from "../../shared/events.ts";
import { SupervisorError } from "../supervisor-error.ts";

/** One generation in a few lines, for the model and for `loom spawn`. */
export function describeGeneration(record: GenerationRecord): string {
  const lines = [
    `generation ${record.generation} (${record.branch}): ${record.outcome}${record.reason ? ` — ${record.reason}` : ""}`,
    `tokens: ${totalTokens(record.tokens)} (in ${record.tokens.input}, out ${record.tokens.output})`,
  ];
  if (record.outcome === "verifying") {
    lines.push(`next: verify_generation {"generation": ${record.generation}}, then promote or roll back`);
  }
  return lines.join("\n");
}

function describeMechanical(m: MechanicalVerification): string[] {
  const step = (name: string, passed: boolean, extra = "") =>
    `- ${name}: ${passed ? "ok" : "FAILED"}${extra}`;
  const lines = [
    `stage 1 (${m.passed ? "passed" : "failed"}, commit ${m.commit.slice(0, 12)} against ${m.base.slice(0, 12)}):`,
  ];
  if (m.install) lines.push(step("install", m.install.passed));
  lines.push(step("check", m.check.passed));
  lines.push(step("tests", m.tests.passed, ` (${m.tests.testCount} tests, main had ${m.baselineTestCount})`));
  lines.push(step("schemas unchanged", m.schemaFingerprintOk));
  if (m.acceptance.present) {
    lines.push(step("acceptance suite", m.acceptance.unchanged && (m.acceptance.run?.passed ?? false)));
  }
  for (const f of m.failures) lines.push(`  failure: ${f}`);
  return lines;
}

/** Both stages of a verification, for the model. */
export function describeVerification(generation: number, v: Verification): string {
  const lines = [`generation ${generation}: verification ${v.passed ? "PASSED" : "did not pass"}`];
  lines.push(...describeMechanical(v.mechanical));
  if (v.review) {
    const verdict = v.review.verdict;
    if (verdict) {
      lines.push(
        `stage 2 review: ${verdict.approved ? "approved" : "rejected"} (confidence ${verdict.confidence}): ${verdict.summary}`,
      );
      for (const issue of verdict.issues) lines.push(`  issue: ${issue}`);
    } else {
      lines.push(`stage 2 review: no verdict (${v.review.error ?? "no reason given"})`);
    }
  }
  if (v.fitness) lines.push(`fitness: ${v.fitness.score}${v.fitness.gated ? " (gated)" : ""}`);
  lines.push(
    v.passed
      ? `next: promote_generation {"generation": ${generation}}`
      : `next: rollback_generation {"generation": ${generation}, "reason": "..."} naming what failed`,
  );
  return lines.join("\n");
}

/**
 * A Supervisor refusal as the tool's answer: its code and message, which say what to change
 * (e.g. NOT_VERIFIED: verify first). Other failures are left to the registry's wording.
 */
export function supervisorRefusal(err: unknown): ToolError | undefined {
  if (!(err instanceof SupervisorError)) return undefined;
  return new ToolError(err.code, `the Supervisor answered ${err.code}: ${err.message}`);
}
