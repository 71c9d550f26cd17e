import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { taskSetHash } from "../../src/bench-agent/task-set-hash.ts";
import { DEFAULT_TEST_TIMEOUT_MS, loadTasks, TaskSetError } from "../../src/bench-agent/tasks.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const SPEC = { statement: "Make add() add.", test: "node --test hidden-tests/add.test.mjs" };
const HIDDEN = { "hidden/hidden-tests/add.test.mjs": "// hidden test\n" };

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempWorkspace());
});
afterEach(() => cleanup());

/** Writes tasks/<name>/ with the given files; a JSON value is written as task.json or oracle.json. */
async function task(name: string, files: Record<string, unknown>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, name, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  }
}
const repoTask = (name: string, extra: Record<string, unknown> = {}) =>
  task(name, { "task.json": SPEC, "repo/add.mjs": "export const add = () => 0;\n", ...HIDDEN, ...extra });

const messageOf = async (name: string): Promise<string> => {
  const { problems } = await loadTasks(root);
  const found = problems.filter((p) => p.task === name);
  expect(found, JSON.stringify(problems)).toHaveLength(1);
  return found[0]!.message;
};

describe("loadTasks", () => {
  it("loads a repo task and a source task, with the default timeout and the oracle", async () => {
    await repoTask("add-fix");
    const oracle = { steps: [{ tool: "read_file", input: { path: "index.js" } }], summary: "Done." };
    await task("ms-neg", {
      "task.json": { ...SPEC, timeoutMs: 5000, tags: ["bugfix"], source: { npm: "ms@2.1.3" } },
      "inject.patch": "diff\n",
      "oracle.json": oracle,
      ...HIDDEN,
    });
    const { tasks, problems } = await loadTasks(root);
    expect(problems).toEqual([]);
    expect(tasks.map((t) => t.name)).toEqual(["add-fix", "ms-neg"]);
    const [add, ms] = tasks;
    expect(add).toEqual({
      name: "add-fix",
      dir: path.join(root, "add-fix"),
      spec: { ...SPEC, timeoutMs: DEFAULT_TEST_TIMEOUT_MS },
      hiddenDir: path.join(root, "add-fix", "hidden"),
      repoDir: path.join(root, "add-fix", "repo"),
    });
    expect(ms?.spec.timeoutMs).toBe(5000);
    expect(ms?.injectPatch).toBe(path.join(root, "ms-neg", "inject.patch"));
    expect(ms?.oracle).toEqual(oracle);
    expect(ms?.repoDir).toBeUndefined();
  });

  it("a source task without inject.patch is the package as is (a refactor)", async () => {
    await task("refactor", { "task.json": { ...SPEC, source: { npm: "ms@2.1.3" } }, ...HIDDEN });
    const { tasks, problems } = await loadTasks(root);
    expect(problems).toEqual([]);
    expect(tasks[0]?.injectPatch).toBeUndefined();
  });

  it("names each bad task in one line and still loads the others", async () => {
    await repoTask("good");
    await task("no-json", { "repo/a.js": "", ...HIDDEN });
    await repoTask("bad-test", { "task.json": { ...SPEC, test: 3 } });
    await repoTask("bad-json", { "task.json": "{ statement: " });
    await task("no-hidden", { "task.json": SPEC, "repo/a.js": "" });
    await task("no-repo", { "task.json": SPEC, ...HIDDEN });
    await repoTask("both", { "task.json": { ...SPEC, source: { npm: "ms@2.1.3" } } });
    await repoTask("bad-oracle", { "oracle.json": { steps: [{ tool: "edit_file" }], summary: "x" } });
    await repoTask("Bad_Name");
    const { tasks, problems } = await loadTasks(root);
    expect(tasks.map((t) => t.name)).toEqual(["good"]);
    expect(problems.map((p) => p.task).sort()).toEqual(
      ["Bad_Name", "bad-json", "bad-oracle", "bad-test", "both", "no-hidden", "no-json", "no-repo"].sort(),
    );
    for (const p of problems) {
      expect(p.message).toContain(path.join(root, p.task));
      expect(p.message).not.toContain("\n");
    }
    expect(await messageOf("bad-test")).toMatch(/task\.json: test: expected string, received number$/);
    expect(await messageOf("bad-json")).toContain("task.json is not valid JSON");
    expect(await messageOf("no-json")).toContain("no task.json");
    expect(await messageOf("no-hidden")).toContain("no hidden/ folder");
    expect(await messageOf("no-repo")).toContain("no repo/ folder and no source.npm");
    expect(await messageOf("both")).toContain("both repo/ and source.npm");
    expect(await messageOf("bad-oracle")).toContain("oracle.json: steps[0].input: required");
    expect(await messageOf("Bad_Name")).toContain("lowercase letters, digits and dashes");
  });

  it("a bad source.npm says what is accepted", async () => {
    await repoTask("latest", { "task.json": { ...SPEC, source: { npm: "ms@latest" } } });
    expect(await messageOf("latest")).toContain('source.npm: expected "<package>@<exact version>"');
  });

  it("throws a TaskSetError naming the folder when it is missing or has no task folders", async () => {
    const missing = path.join(root, "nowhere");
    await expect(loadTasks(missing)).rejects.toThrow(new RegExp(`${missing} does not exist`));
    await writeFile(path.join(root, "README.md"), "# tasks\n");
    await expect(loadTasks(root)).rejects.toThrow(TaskSetError);
    await expect(loadTasks(root)).rejects.toThrow(`${root} has no task folders`);
  });

  it("filter keeps the tasks carrying a tag, and a tag nobody carries lists the tags there are", async () => {
    await repoTask("a", { "task.json": { ...SPEC, tags: ["bugfix", "small"] } });
    await repoTask("b", { "task.json": { ...SPEC, tags: ["feature"] } });
    await repoTask("c-broken", { "task.json": { ...SPEC, tags: ["feature"] }, "oracle.json": "[" });
    await task("d-unreadable", { "task.json": "nope", ...HIDDEN });
    const small = await loadTasks(root, { filter: "small" });
    expect(small.tasks.map((t) => t.name)).toEqual(["a"]);
    // Not part of this run: c-broken is a feature. d-unreadable's tags are unknown, so it is still named.
    expect(small.problems.map((p) => p.task)).toEqual(["d-unreadable"]);
    const feature = await loadTasks(root, { filter: "feature" });
    expect(feature.tasks.map((t) => t.name)).toEqual(["b"]);
    expect(feature.problems.map((p) => p.task)).toEqual(["c-broken", "d-unreadable"]);
    await expect(loadTasks(root, { filter: "large" })).rejects.toThrow(
      '--filter "large": no task in ' + `${root} carries that tag; tags there: bugfix, feature, small`,
    );
    await expect(loadTasks(root, { filter: " " })).rejects.toThrow("--filter needs a tag");
  });
});

describe("the suite in tasks/", () => {
  it("every task loads with no problems, each tagged with one kind and one size", async () => {
    const { tasks, problems } = await loadTasks(path.resolve(import.meta.dirname, "../../tasks"));
    expect(problems).toEqual([]);
    expect(tasks.length).toBeGreaterThanOrEqual(24);
    for (const t of tasks) {
      const tags = t.spec.tags ?? [];
      const kinds = tags.filter((x) => ["bugfix", "feature", "refactor", "types"].includes(x));
      const sizes = tags.filter((x) => ["small", "medium", "large"].includes(x));
      expect([t.name, kinds.length, sizes.length]).toEqual([t.name, 1, 1]);
      expect(t.oracle, t.name).toBeDefined();
    }
  });
});

describe("taskSetHash", () => {
  it("is stable, and changes when a hidden file, task.json or inject.patch changes", async () => {
    await repoTask("a", { "inject.patch": "p1\n" });
    await repoTask("b");
    const hash = async () => taskSetHash((await loadTasks(root)).tasks);
    const first = await hash();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await hash()).toBe(first);
    await writeFile(path.join(root, "b", "hidden", "hidden-tests", "add.test.mjs"), "// changed\n");
    const second = await hash();
    expect(second).not.toBe(first);
    await writeFile(path.join(root, "a", "inject.patch"), "p2\n");
    const third = await hash();
    expect(third).not.toBe(second);
    await writeFile(path.join(root, "a", "task.json"), JSON.stringify({ ...SPEC, tags: ["x"] }));
    expect(await hash()).not.toBe(third);
    // The oracle is not part of the task set: changing it keeps the hash.
    const before = await hash();
    await writeFile(
      path.join(root, "a", "oracle.json"),
      JSON.stringify({ steps: [{ tool: "bash", input: {} }], summary: "s" }),
    );
    expect(await hash()).toBe(before);
    await rm(path.join(root, "b"), { recursive: true });
    expect(await hash()).not.toBe(before);
  });
});
