/** ANSI colour and cursor sequences, which reporters print even into pipes when FORCE_COLOR is set. */
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * How many tests passed, read from a test runner's summary: vitest's `Tests  N passed | M skipped (T)`,
 * node:test's `# pass N` (tap) or `ℹ pass N` (spec), else its `# tests N`, else a plain `N passed`.
 * Summaries of several runs in one output (e.g. unit and acceptance suites) are added up. Skipped and
 * failed tests never count: a Lab must not raise its count by skipping. Undefined when no summary is found.
 */
export function parseTestCount(output: string): number | undefined {
  const text = output.replace(ANSI, "");
  const vitest = [...text.matchAll(/^\s*Tests\s+([^\n]*?)\(\d+\)\s*$/gm)].map((m) => {
    const passed = /(\d+) passed/.exec(m[1] ?? "");
    return passed ? Number(passed[1]) : 0;
  });
  if (vitest.length > 0) return sum(vitest);
  const pass = [...text.matchAll(/^[#ℹ]\s*pass\s+(\d+)\s*$/gm)].map((m) => Number(m[1]));
  if (pass.length > 0) return sum(pass);
  const tests = [...text.matchAll(/^[#ℹ]\s*tests\s+(\d+)\s*$/gm)].map((m) => Number(m[1]));
  if (tests.length > 0) return sum(tests);
  const plain = [...text.matchAll(/\b(\d+) passed\b/g)].at(-1);
  return plain ? Number(plain[1]) : undefined;
}
