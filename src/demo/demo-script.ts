import type { ScriptTurnInput } from "../shared/scripted-model/index.ts";

const greetUserTest = `import assert from "node:assert/strict";
import { test } from "node:test";
import { greetUser } from "../src/greet.ts";

test("greetUser greets by name", () => {
  assert.equal(greetUser("Ada"), "Hello, Ada!");
});
`;

/**
 * What the scripted model "thinks" during the demo. Each turn names what it expects to have seen, so
 * if a tool misbehaves the script stops matching and the demo fails loudly instead of pretending.
 */
export const demoLabScript: ScriptTurnInput[] = [
  {
    text: "I'll look at the code first.",
    tool: "ts_outline",
    input: { path: "src" },
    when: { lastUserTextIncludes: "program.md" },
  },
  {
    text: "greet is used by banner; a structural rename keeps the import correct.",
    tool: "ts_rename",
    input: { path: "src/greet.ts#greet", newName: "greetUser" },
    when: { lastToolResultIncludes: "greet" },
  },
  {
    text: "Probe the renamed function through the eval server before writing the test.",
    tool: "eval",
    input: { form: 'import { greetUser } from "./src/greet.ts";\ngreetUser("Ada")' },
    when: { lastToolResultIncludes: "greetUser" },
  },
  {
    text: "It answers as before. Now a test of its own.",
    tool: "write_file",
    input: { path: "test/greet-user.test.ts", content: greetUserTest },
    when: { lastToolResultIncludes: "Hello, Ada!" },
  },
  {
    tool: "bash",
    input: { command: "node --import tsx --test test/*.test.ts 2>&1 | tail -n 12" },
    when: { lastToolResultIncludes: "test/greet-user.test.ts" },
  },
  {
    text: "Renamed greet to greetUser across src/ with ts_rename (banner's import followed), added test/greet-user.test.ts, and the whole suite passes.",
    when: { lastToolResultIncludes: "# fail 0" },
  },
];

/**
 * `loom demo --candidates 3`: the Lab model each candidate of the round draws (LOOM_LAB_MODELS, in
 * turn by candidate index), and so the part the scripted server plays to it.
 */
export const ROUND_LAB_MODELS = ["demo-lab-careless", "demo-lab-verbose", "demo-lab-tidy"] as const;

const forModel = (model: string, turns: ScriptTurnInput[]): ScriptTurnInput[] =>
  turns.map((turn) => ({ ...turn, when: { ...turn.when, model } }) as ScriptTurnInput);

const tidyTest = `import { expect, test } from "vitest";
import { greetUser } from "../src/greet.ts";

test("greetUser greets by name", () => {
  expect(greetUser("Ada")).toBe("Hello, Ada!");
});
`;

const NAMES = [
  "Ada",
  "Linus",
  "Grace",
  "Alan",
  "Barbara",
  "Edsger",
  "Donald",
  "Frances",
  "Ken",
  "Margaret",
  "Dennis",
  "Radia",
];
/** The same assertion a dozen times over, each in its own block: it checks nothing the first one does not. */
const verboseTest = `import { describe, expect, test } from "vitest";
import { greetUser } from "../src/greet.ts";

describe("greetUser greets each of a dozen names", () => {
${NAMES.map(
  (name) => `  test("greets ${name}", () => {
    const name = "${name}";
    const greeting = greetUser(name);
    expect(typeof greeting).toBe("string");
    expect(greeting.startsWith("Hello, ")).toBe(true);
    expect(greeting.endsWith("!")).toBe(true);
    expect(greeting).toBe(\`Hello, \${name}!\`);
  });
`,
).join("\n")}});
`;

const outline: ScriptTurnInput = {
  text: "I'll look at the code first.",
  tool: "ts_outline",
  input: { path: "src" },
  when: { lastUserTextIncludes: "program.md" },
};
const rename: ScriptTurnInput = {
  text: "greet is used by banner; a structural rename keeps the import correct.",
  tool: "ts_rename",
  input: { path: "src/greet.ts#greet", newName: "greetUser" },
  when: { lastToolResultIncludes: "greet" },
};

/** The part a candidate of a demo round plays, told apart by the model it draws. */
export type RoundRole = "careless" | "verbose" | "tidy";
/** The roles in the order `loom demo --candidates 3` draws them; larger rounds cycle through them. */
export const ROUND_ROLES: readonly RoundRole[] = ["careless", "verbose", "tidy"];

export interface RoundCandidate {
  readonly role: RoundRole;
  /** A model name no other candidate of the round has, so each Lab is played its own turns. */
  readonly model: string;
}

/** Round sizes the demo round has a determined ending for: at most one of each passing role. */
export const DEMO_ROUND_MIN = 2;
export const DEMO_ROUND_MAX = 4;

/**
 * The candidates of a demo round of `k`: candidate i plays ROUND_ROLES[(i - 1) mod 3] on
 * ROUND_LAB_MODELS[(i - 1) mod 3], with `-2`, `-3`, … after the first cycle (the scripted server
 * consumes each turn once, so two Labs of one role need models of their own). k = 3 is exactly the
 * models of `loom demo --candidates 3`.
 */
export function roundCandidates(k: number): RoundCandidate[] {
  return Array.from({ length: k }, (_, i) => {
    const role = ROUND_ROLES[i % ROUND_ROLES.length] as RoundRole;
    const cycle = Math.floor(i / ROUND_ROLES.length);
    const base = ROUND_LAB_MODELS[i % ROUND_LAB_MODELS.length] as string;
    return { role, model: cycle === 0 ? base : `${base}-${cycle + 1}` };
  });
}

const ROLE_TURNS: Record<RoundRole, ScriptTurnInput[]> = {
  careless: [
    outline,
    rename,
    {
      text: "While here, a shorter greeting reads better.",
      tool: "edit_file",
      input: { path: "src/greet.ts", old_str: "`Hello, ", new_str: "`Hi " },
      when: { lastToolResultIncludes: "greetUser" },
    },
    {
      text: "Renamed greet to greetUser and shortened the greeting.",
      when: { lastToolResultIncludes: "edited src/greet.ts" },
    },
  ],
  verbose: [
    outline,
    rename,
    {
      text: "Every name deserves its own test.",
      tool: "write_file",
      input: { path: "test/greet-user.test.ts", content: verboseTest },
      when: { lastToolResultIncludes: "greetUser" },
    },
    {
      text: "Renamed greet to greetUser and covered it with a test per name.",
      when: { lastToolResultIncludes: "test/greet-user.test.ts" },
    },
  ],
  tidy: [
    outline,
    rename,
    {
      text: "Probe the renamed function through the eval server before writing the test.",
      tool: "eval",
      input: { form: 'import { greetUser } from "./src/greet.ts";\ngreetUser("Ada")' },
      when: { lastToolResultIncludes: "greetUser" },
    },
    {
      text: "It answers as before. Now a test of its own.",
      tool: "write_file",
      input: { path: "test/greet-user.test.ts", content: tidyTest },
      when: { lastToolResultIncludes: "Hello, Ada!" },
    },
    {
      tool: "bash",
      input: { command: "node_modules/.bin/vitest related --run src/greet.ts 2>&1 | tail -n 6" },
      when: { lastToolResultIncludes: "test/greet-user.test.ts" },
    },
    {
      text: "Renamed greet to greetUser across src/ with ts_rename (banner's import followed), added test/greet-user.test.ts, and the tests it reaches pass.",
      when: { lastToolResultIncludes: "passed" },
    },
  ],
};

/**
 * The Lab script of a demo round, one part per candidate, told apart by the model that asks: the
 * careless one "tidies" the greeting while renaming (banner's test breaks, and the cascade stops it at
 * the reachable tests); the verbose one renames and adds a dozen copies of one test (it passes, with a
 * diff several times larger); the tidy one renames, probes through eval and adds one test.
 */
export function roundLabScript(candidates: readonly RoundCandidate[]): ScriptTurnInput[] {
  return candidates.flatMap((c) => forModel(c.model, ROLE_TURNS[c.role]));
}

/** The three candidates of `loom demo --candidates 3`: careless, verbose, tidy. */
export const demoRoundLabScript: ScriptTurnInput[] = roundLabScript(roundCandidates(3));
