/**
 * What mutation testing covers: the gate's modules (what decides what reaches main) and, for each,
 * the tests that pin it — each mutant runs only these, and of these only the tests covering it.
 * `mutate` may name a line range (`file:from-to`) where only part of a file is gate.
 */
export interface GateModule {
  readonly mutate: string;
  readonly tests: readonly string[];
}

export const GATE_MODULES: readonly GateModule[] = [
  {
    mutate: "src/supervisor/verify/fitness.ts",
    tests: [
      "test/supervisor/verify/fitness.test.ts",
      "test/supervisor/verify/task-fitness.test.ts",
      "acceptance/gate-fitness.test.ts",
    ],
  },
  {
    mutate: "src/supervisor/verify/task-fitness.ts",
    tests: ["test/supervisor/verify/task-fitness.test.ts", "test/supervisor/verify/task-stages.test.ts"],
  },
  {
    mutate: "src/supervisor/git/fingerprint.ts",
    tests: [
      "test/supervisor/git/fingerprint.test.ts",
      "test/gate/fingerprint-gate.test.ts",
      "test/gate/fixed-points.test.ts",
    ],
  },
  {
    mutate: "src/supervisor/git/fixed-points.ts",
    tests: ["test/gate/fixed-points.test.ts", "acceptance/gate-verify.test.ts"],
  },
  {
    mutate: "src/supervisor/git/promote.ts",
    tests: [
      "test/supervisor/git/promote.test.ts",
      "test/gate/git-decisions.test.ts",
      "test/gate/git-promote-paths.test.ts",
    ],
  },
  { mutate: "src/supervisor/git/rollback.ts", tests: ["test/gate/git-decisions.test.ts"] },
  {
    mutate: "src/supervisor/git/reset-main.ts",
    tests: ["test/supervisor/git/main-moves.test.ts", "test/gate/git-decisions.test.ts"],
  },
  {
    mutate: "src/supervisor/verify/test-count.ts",
    tests: ["test/supervisor/verify/test-count.test.ts", "test/gate/test-count.test.ts"],
  },
  {
    mutate: "src/supervisor/verify/gate-hold.ts",
    tests: ["test/gate/gate-hold.test.ts", "acceptance/gate-verify.test.ts"],
  },
  {
    mutate: "src/supervisor/verify/mechanical.ts",
    tests: [
      "test/gate/mechanical.test.ts",
      "test/supervisor/verify/cascade.test.ts",
      "test/supervisor/verify/task-stages.test.ts",
      "test/gate/fixed-points.test.ts",
      "test/gate/check-seed.test.ts",
      "acceptance/gate-verify.test.ts",
    ],
  },
  {
    mutate: "src/supervisor/verify/reachable.ts",
    tests: ["test/supervisor/verify/reachable.test.ts", "test/supervisor/verify/cascade.test.ts"],
  },
  { mutate: "src/supervisor/verify/baseline.ts", tests: ["test/gate/baseline.test.ts"] },
  {
    mutate: "src/supervisor/verify/check-seed.ts",
    tests: ["test/supervisor/verify/check-seed.test.ts", "test/gate/check-seed.test.ts"],
  },
  { mutate: "src/supervisor/store/transitions.ts", tests: ["test/gate/git-decisions.test.ts"] },
  {
    mutate: "src/agent/tools/paths.ts",
    tests: [
      "test/agent/tools/paths.test.ts",
      "test/gate/paths-confinement.test.ts",
      "acceptance/gate-verify.test.ts",
    ],
  },
  {
    mutate: "src/agent/lab-catalog.ts",
    tests: ["test/gate/catalog.test.ts", "acceptance/gate-verify.test.ts"],
  },
  { mutate: "src/agent/catalog.ts", tests: ["test/gate/catalog.test.ts", "acceptance/gate-verify.test.ts"] },
  {
    mutate: "src/agent/tool-registry.ts:37-40",
    tests: ["test/gate/catalog.test.ts", "test/agent/tool-registry.test.ts"],
  },
  {
    mutate: "src/agent/tool-policy.ts",
    tests: ["test/agent/tool-policy.test.ts", "test/gate/catalog.test.ts"],
  },
];

/** The file part of a `mutate` entry (without a line range). */
export const fileOf = (mutate: string): string => mutate.replace(/:\d+-\d+$/, "");
