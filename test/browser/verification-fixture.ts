import type { Verification } from "../../schemas/verification.ts";

const step = (output: string, durationMs: number) => ({ passed: true, exitCode: 0, output, durationMs });

/** A verification that passed both stages, as Prime's verify and review would record it. */
export function passedVerification(commit: string, base: string): Verification {
  return {
    passed: true,
    mechanical: {
      passed: true,
      commit,
      base,
      install: null,
      check: step("tsc --noEmit: 0 errors\nbiome: checked 212 files", 8_400),
      tests: { ...step(" ✓ test/greet.test.ts (3 tests)\n Tests  41 passed (41)", 21_300), testCount: 41 },
      baselineTestCount: 38,
      schemaFingerprintOk: true,
      acceptance: { present: true, unchanged: true, run: step("acceptance: 6 passed", 4_100) },
      failures: [],
      durationMs: 36_000,
    },
    review: {
      verdict: {
        approved: true,
        issues: [],
        confidence: 0.86,
        summary: "Adds greet() with tests, as program.md asks; nothing else changes.",
      },
      error: null,
      durationMs: 5_200,
    },
    fitness: { score: 0.72, gated: false, components: { tests: 0.3, review: 0.26, size: 0.16 } },
  };
}

/** A verification whose tests failed: promotion stays refused. */
export function failedVerification(commit: string, base: string): Verification {
  const v = passedVerification(commit, base);
  return {
    ...v,
    passed: false,
    mechanical: {
      ...v.mechanical,
      passed: false,
      tests: {
        passed: false,
        exitCode: 1,
        output: ' FAIL test/x.test.ts > <b>bold</b>\n AssertionError: expected "<script>alert(1)</script>"',
        durationMs: 9_000,
        testCount: 37,
      },
      failures: ["npm test failed (exit 1)", "37 tests ran; main ran 38"],
    },
    review: null,
    fitness: { score: 0, gated: true, components: {} },
  };
}
