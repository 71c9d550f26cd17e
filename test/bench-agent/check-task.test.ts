import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkTask } from "../../src/bench-agent/check-task.ts";
import { loadTasks } from "../../src/bench-agent/tasks.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const loomRoot = path.resolve(import.meta.dirname, "../..");
const HIDDEN_TEST = `import { add } from "../add.mjs";
if (add(2, 3) !== 5) { console.error("add(2, 3) is", add(2, 3)); process.exit(1); }
`;
const fix = (oldStr: string) => ({
  steps: [
    { tool: "read_file", input: { path: "add.mjs" } },
    { tool: "edit_file", input: { path: "add.mjs", old_str: oldStr, new_str: "a + b" } },
  ],
  summary: "add() adds.",
});

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempWorkspace({
    "add/task.json": JSON.stringify({
      statement: "add(a, b) must add.",
      test: "node hidden-tests/add.test.mjs",
    }),
    "add/repo/add.mjs": "export const add = (a, b) => a - b;\n",
    "add/hidden/hidden-tests/add.test.mjs": HIDDEN_TEST,
    "add/oracle.json": JSON.stringify(fix("a - b")),
    "broken/task.json": JSON.stringify({
      statement: "add(a, b) must add.",
      test: "node hidden-tests/add.test.mjs",
    }),
    "broken/repo/add.mjs": "export const add = (a, b) => a - b;\n",
    "broken/hidden/hidden-tests/add.test.mjs": HIDDEN_TEST,
    "broken/oracle.json": JSON.stringify(fix("a * b")),
    "easy/task.json": JSON.stringify({ statement: "Keep add.", test: "node hidden-tests/add.test.mjs" }),
    "easy/repo/add.mjs": "export const add = (a, b) => a + b;\n",
    "easy/hidden/hidden-tests/add.test.mjs": HIDDEN_TEST,
  }));
});
afterEach(() => cleanup());

describe("checkTask", () => {
  it("passes a task whose hidden tests fail as given and pass after its oracle", async () => {
    const { tasks } = await loadTasks(root);
    const byName = new Map(tasks.map((t) => [t.name, t]));
    expect(await checkTask(byName.get("add")!, { loomRoot })).toEqual({
      name: "add",
      ok: true,
      unsolvedExit: 1,
      solvedExit: 0,
      problems: [],
    });
    const broken = await checkTask(byName.get("broken")!, { loomRoot });
    expect(broken.ok).toBe(false);
    expect(broken.problems[0]).toMatch(/^oracle step 2 \(edit_file\) failed: /);
    expect(broken.problems[1]).toMatch(
      /^the hidden tests fail after the oracle \(exit 1\):\nadd\(2, 3\) is -1/,
    );
    const easy = await checkTask(byName.get("easy")!, { loomRoot });
    expect(easy.problems).toEqual([
      "the hidden tests pass on the task as given: they must fail before the fix",
      "no oracle.json: the known fix is needed to check the task",
    ]);
  });
});
