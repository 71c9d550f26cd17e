import { access, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyHidden, materializeTask, TaskMaterializeError } from "../../src/bench-agent/materialize.ts";
import { loadTasks, type Task } from "../../src/bench-agent/tasks.ts";
import { runGit } from "../../src/shared/git/run-git.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const TASKS = path.resolve(import.meta.dirname, "../../tasks");
const PATCH = `diff --git a/add.mjs b/add.mjs
--- a/add.mjs
+++ b/add.mjs
@@ -1 +1 @@
-export const add = (a, b) => a + b;
+export const add = (a, b) => a - b;
`;

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempWorkspace({
    "tasks/add-fix/task.json": JSON.stringify({ statement: "Fix add.", test: "node hidden-tests/t.mjs" }),
    "tasks/add-fix/repo/add.mjs": "export const add = (a, b) => a + b;\n",
    "tasks/add-fix/repo/.gitignore": "add.mjs\n",
    "tasks/add-fix/inject.patch": PATCH,
    "tasks/add-fix/hidden/hidden-tests/t.mjs": "// the hidden test\n",
  }));
});
afterEach(() => cleanup());

const load = async (dir: string): Promise<Task[]> => {
  const { tasks, problems } = await loadTasks(dir);
  expect(problems).toEqual([]);
  return tasks;
};
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const log = (dir: string) => runGit(dir, ["log", "--format=%s|%an <%ae>"]);

describe("materializeTask (repo/ task)", () => {
  it("copies repo/, commits the package, applies inject.patch and commits the task", async () => {
    const [task] = await load(path.join(root, "tasks"));
    const dest = path.join(root, "work", "a");
    const { base } = await materializeTask(task!, dest);
    expect(base).toBe(await runGit(dest, ["rev-parse", "HEAD"]));
    expect(await runGit(dest, ["branch", "--show-current"])).toBe("main");
    expect(await log(dest)).toBe(
      "task: add-fix|Loom bench <bench@loom.invalid>\ntask: add-fix package|Loom bench <bench@loom.invalid>",
    );
    // Committed although the repo's own .gitignore lists it, with the patch applied; nothing left over.
    expect(await runGit(dest, ["show", "HEAD:add.mjs"])).toBe("export const add = (a, b) => a - b;");
    expect(await runGit(dest, ["status", "--porcelain", "--ignored"])).toBe("");
    // Fixed identity and date: the same task gives the same base commit.
    expect((await materializeTask(task!, path.join(root, "work", "b"))).base).toBe(base);
  });

  it("a patch that does not apply names the task and git's words, and leaves no folder", async () => {
    await writeFile(path.join(root, "tasks/add-fix/inject.patch"), PATCH.replace("a + b", "a * b"));
    const [task] = await load(path.join(root, "tasks"));
    const dest = path.join(root, "work", "a");
    const err = await materializeTask(task!, dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskMaterializeError);
    expect((err as Error).message).toMatch(
      /^task add-fix: git apply inject\.patch failed \(exit 1\): .*patch does not apply/,
    );
    expect(await exists(dest)).toBe(false);
  });

  it("refuses a folder that is not empty", async () => {
    const [task] = await load(path.join(root, "tasks"));
    const dest = path.join(root, "busy");
    await mkdir(dest);
    await writeFile(path.join(dest, "x"), "");
    await expect(materializeTask(task!, dest)).rejects.toThrow(`task add-fix: ${dest} is not empty`);
    expect(await readFile(path.join(dest, "x"), "utf8")).toBe("");
  });
});

describe("copyHidden", () => {
  it("adds the hidden files, overwrites the agent's, and never follows a symlink the agent left", async () => {
    const [task] = await load(path.join(root, "tasks"));
    const ws = path.join(root, "ws");
    const outside = path.join(root, "outside");
    await mkdir(outside, { recursive: true });
    await mkdir(ws);
    // The agent made hidden-tests a link to a folder outside the workspace.
    await symlink(outside, path.join(ws, "hidden-tests"));
    await copyHidden(task!, ws);
    expect(await readFile(path.join(ws, "hidden-tests/t.mjs"), "utf8")).toBe("// the hidden test\n");
    expect(await exists(path.join(outside, "t.mjs"))).toBe(false);
    await writeFile(path.join(ws, "hidden-tests/t.mjs"), "// the agent's version\n");
    await copyHidden(task!, ws);
    expect(await readFile(path.join(ws, "hidden-tests/t.mjs"), "utf8")).toBe("// the hidden test\n");
  });
});

describe("materializeTask (npm task from tasks/)", () => {
  it("ms-negative-durations: the package at its version, inject applied, hidden tests copied", async () => {
    const [task] = (await load(TASKS)).filter((t) => t.name === "ms-negative-durations");
    const dest = path.join(root, "ms");
    const { base } = await materializeTask(task!, dest);
    expect(await log(dest)).toBe(
      "task: ms-negative-durations|Loom bench <bench@loom.invalid>\n" +
        "task: ms-negative-durations package|Loom bench <bench@loom.invalid>",
    );
    expect(JSON.parse(await readFile(path.join(dest, "package.json"), "utf8")).version).toBe("2.1.3");
    // The first commit is the package as published; the second is exactly inject.patch.
    const injected = await runGit(dest, ["diff", "HEAD~1", base, "--stat"]);
    expect(injected).toContain("index.js");
    await runGit(dest, ["apply", "--check", "--reverse", path.join(task!.dir, "inject.patch")]);
    await copyHidden(task!, dest);
    expect(await exists(path.join(dest, "hidden-tests/format.test.ts"))).toBe(true);
  });

  it("an npm pack that fails names the task and npm's words", async () => {
    const [task] = await load(path.join(root, "tasks"));
    const bad: Task = { ...task!, spec: { ...task!.spec, source: { npm: "ms@0.0.999" } } };
    const dest = path.join(root, "none");
    // Offline: the failure must come from npm's cache, never from the network.
    const before = process.env.npm_config_offline;
    process.env.npm_config_offline = "true";
    try {
      await expect(materializeTask(bad, dest)).rejects.toThrow(
        /^task add-fix: npm pack ms@0\.0\.999 failed \(exit 1\): npm error/,
      );
    } finally {
      if (before === undefined) delete process.env.npm_config_offline;
      else process.env.npm_config_offline = before;
    }
    expect(await exists(dest)).toBe(false);
  });
});
