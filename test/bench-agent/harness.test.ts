// loom bench-agent end to end, with real parts only: a clone of this repository, the agent's tree at a
// ref, real Labs in bubblewrap (LOOM_RUNTIME=local) reaching the scripted model server through the
// model proxy with the real SDK, real git, the hidden tests in a fresh sandbox. One oracle run of every
// task serves (a) and (c); the give-up run (b) with the bad task folders and the hanging Lab (e) runs
// beside it, since most of its time is the hanging Lab's wait.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BenchInputError, BUILD_FILES, buildAgentBundle } from "../../src/bench-agent/agent-build.ts";
import { type Comparison, compareRefs, formatComparison } from "../../src/bench-agent/compare.ts";
import { formatBench } from "../../src/bench-agent/format.ts";
import { oracleScript, taskMarker } from "../../src/bench-agent/oracle.ts";
import { type BenchRun, runBench } from "../../src/bench-agent/run-bench.ts";
import { failureReason } from "../../src/bench-agent/run-task.ts";
import { loadTasks, type Task } from "../../src/bench-agent/tasks.ts";
import { type Config, loadConfig } from "../../src/shared/config.ts";
import { runGit } from "../../src/shared/git/run-git.ts";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  startScriptedModel,
} from "../../src/shared/scripted-model/index.ts";
import { loom } from "../helpers/cli.ts";
import { LOOM_ROOT } from "../helpers/loom-clone.ts";

const TASKS = path.join(LOOM_ROOT, "tasks");
/** The candidate branch of (d): ts_rename refuses every rename. */
const BROKEN = "broken-rename";
const REFUSAL = "ts_rename is switched off on this branch: every rename is refused";
/** The tasks of (d): the two whose oracles rename with ts_rename, and one that does not. */
const RENAME_TASKS = ["hashids-rename-parse-decimal", "redux-rename-kindof"];
const CONTROL_TASK = "ts-dedent-common-indent";
/** The give-up run's tasks: copies of real ones (one of each kind that has a small or cheap task). */
const GIVE_UP_TASKS = ["hashids-decode-single-guard", "ms-negative-durations", "type-fest-except-exact"];
const HANGS = "ts-dedent-hangs";
const LAB_TIMEOUT_MS = 20_000;
/** Oracle steps that change nothing in the workspace. */
const READ_ONLY = new Set(["read_file", "ts_read", "ts_outline"]);

let work: string;
let clone: string;
let state: string;

const configFor = (model: ScriptedModelServer, env: Record<string, string> = {}): Config =>
  loadConfig({
    env: {
      LOOM_LAB_API_BASE: model.url,
      LOOM_LAB_API_KEY: "sk-bench-test",
      LOOM_RUNTIME: "local",
      LOOM_STATE_DIR: state,
      ...env,
    },
    cwd: clone,
  });

/** Every string in a request body, one per line: what the model was shown (and said), decoded. */
const stringsOf = (value: unknown): string[] =>
  typeof value === "string"
    ? [value]
    : Array.isArray(value)
      ? value.flatMap(stringsOf)
      : value && typeof value === "object"
        ? Object.values(value).flatMap(stringsOf)
        : [];

interface Message {
  readonly role: string;
  readonly content: unknown;
}
const messagesOf = (body: unknown): Message[] =>
  ((body as { messages?: Message[] } | undefined)?.messages ?? []).filter((m) => m && typeof m === "object");

/** What a request carries that the model did not say itself: system, tools and the user messages. */
const harnessText = (body: unknown): string => {
  const b = (body ?? {}) as Record<string, unknown>;
  return [
    ...stringsOf(b.system),
    ...stringsOf(b.tools),
    ...messagesOf(body)
      .filter((m) => m.role === "user")
      .flatMap((m) => stringsOf(m.content)),
  ].join("\n");
};

/** Every file of a folder (recursively, .git left out), as one text: what the agent could read. */
async function folderText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && !path.join(e.parentPath, e.name).includes("/.git/"));
  const texts = await Promise.all(files.map((e) => readFile(path.join(e.parentPath, e.name), "utf8")));
  return texts.join("\n");
}

/** Lines worth looking for: long enough to be distinctive, trimmed. */
const distinctive = (text: string, min = 24): string[] => [
  ...new Set(
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length >= min),
  ),
];

const processesUnder = async (dir: string): Promise<string[]> => {
  const { stdout } = await promisify(execFile)("ps", ["-eo", "pid=,args="]);
  return stdout.split("\n").filter((l) => l.includes(dir) && !l.includes(" ps -eo "));
};

/** The give-up run of (b) and (e): started in beforeAll, beside the oracle run. */
let giveUp: Promise<{ run: BenchRun; lines: string[]; model: ScriptedModelServer }>;

async function writeBadTasks(root: string): Promise<void> {
  for (const name of GIVE_UP_TASKS)
    await cp(path.join(TASKS, name), path.join(root, name), { recursive: true });
  // The hanging one: ts-dedent's task under a name of its own (its marker gets the slow turn).
  await cp(path.join(TASKS, CONTROL_TASK), path.join(root, HANGS), { recursive: true });
  const files: Record<string, string> = {
    // No task.json.
    "no-task-json/hidden/hidden-tests/t.test.ts": "// a hidden test\n",
    "no-task-json/repo/index.js": "module.exports = 1;\n",
    // `test` is not a string.
    "test-not-a-string/task.json": JSON.stringify({ statement: "Fix it.", test: 42 }),
    "test-not-a-string/hidden/hidden-tests/t.test.ts": "// a hidden test\n",
    "test-not-a-string/repo/index.js": "module.exports = 1;\n",
    // No hidden/.
    "no-hidden/task.json": JSON.stringify({ statement: "Fix it.", test: "node index.js" }),
    "no-hidden/repo/index.js": "module.exports = 1;\n",
  };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
}

async function startGiveUp(): Promise<{ run: BenchRun; lines: string[]; model: ScriptedModelServer }> {
  const tasksDir = path.join(work, "tasks-bad");
  await writeBadTasks(tasksDir);
  const script: ScriptTurnInput[] = [
    // The hanging Lab: its first request is answered only long after LOOM_LAB_TIMEOUT_MS.
    { fault: "slow", delayMs: 600_000, text: "Too late.", when: { anyUserTextIncludes: taskMarker(HANGS) } },
    ...Array.from({ length: GIVE_UP_TASKS.length * 3 }, () => ({
      text: "I give up: I cannot do this task.",
    })),
  ];
  const model = await startScriptedModel(script);
  const lines: string[] = [];
  const run = await runBench({
    repo: clone,
    ref: "main",
    tasksDir,
    parallel: 4,
    config: configFor(model, { LOOM_LAB_TIMEOUT_MS: String(LAB_TIMEOUT_MS) }),
    progress: (line) => lines.push(line),
  });
  return { run, lines, model };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "loom-bench-agent-"));
  state = path.join(work, "state");
  // A clone of this repository's HEAD, and on a branch of it the candidate whose ts_rename refuses.
  clone = path.join(work, "loom");
  await runGit(work, ["clone", "-q", "--local", LOOM_ROOT, clone]);
  await runGit(clone, ["checkout", "-q", "-B", "main"]);
  await runGit(clone, ["checkout", "-q", "-b", BROKEN]);
  const rename = path.join(clone, "src", "agent", "ts", "tools", "rename.ts");
  const source = await readFile(rename, "utf8");
  const broken = source.replace(
    "  async run(input, ctx) {\n",
    `  async run(input, ctx) {\n    if (input) throw new ToolError("TS_RENAME_OFF", ${JSON.stringify(REFUSAL)});\n`,
  );
  expect(broken).not.toBe(source);
  await writeFile(rename, broken);
  await runGit(clone, ["commit", "-q", "-am", "ts_rename refuses every rename"], {
    identity: { name: "Test", email: "test@loom.invalid" },
  });
  await runGit(clone, ["checkout", "-q", "main"]);
  giveUp = startGiveUp();
  // Awaited by its own tests; a failure must not be reported as unhandled before then.
  giveUp.catch(() => {});
}, 60_000);

afterAll(async () => {
  const done = await giveUp?.catch(() => undefined);
  await done?.model.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("every task's oracle, 4 at a time (a, c)", () => {
  let tasks: Task[];
  let model: ScriptedModelServer;
  let run: BenchRun;
  const lines: string[] = [];

  beforeAll(async () => {
    ({ tasks } = await loadTasks(TASKS));
    model = await startScriptedModel(tasks.flatMap((t) => oracleScript(t, taskMarker(t.name))));
    run = await runBench({
      repo: clone,
      ref: "main",
      tasksDir: TASKS,
      parallel: 4,
      config: configFor(model),
      progress: (line) => lines.push(line),
      // Kept until afterAll removes the folder: (c) reads each task's starting package from it.
      keep: true,
    });
    if (process.env.BENCH_DEBUG)
      console.log(formatBench(run.result), lines.filter((l) => l.includes("bench-agent")).join("\n"));
  }, 300_000);
  afterAll(() => model?.close());

  it("solves every task in tasks/, each through its Lab's tool calls", async () => {
    const folders = (await readdir(TASKS, { withFileTypes: true })).filter((e) => e.isDirectory());
    expect(run.problems).toEqual([]);
    expect(run.result.total).toBe(folders.length);
    const unsolved = run.result.tasks.filter((t) => !t.solved).map((t) => `${t.name}: ${t.reason}`);
    expect(unsolved, formatBench(run.result)).toEqual([]);
    expect(run.result.solved).toBe(folders.length);
    for (const t of run.result.tasks) {
      const oracle = tasks.find((x) => x.name === t.name)?.oracle;
      // Every step was a tool call of the Lab (counted from its report), and the model was paid for.
      expect(t.toolCalls, t.name).toBe(oracle?.steps.length);
      expect(t.tokens, t.name).toBeGreaterThan(0);
      expect(t.costUsd, t.name).toBeGreaterThan(0);
    }
    expect(run.result.ref).toBe(await runGit(clone, ["rev-parse", "main"]));
    // Live progress: each task's start, its tools, its end.
    expect(lines).toContain(`[1/${folders.length} ${tasks[0]?.name}] started`);
    expect(lines.some((l) => / (edit_file|ts_rename|read_file)$/.test(l))).toBe(true);
    // The agent's Lab ran its own bundle, built for its tree (its sources through tsx only when this
    // working tree's build files are not the committed ones the clone has).
    const buildFilesCommitted =
      (await runGit(LOOM_ROOT, ["status", "--porcelain", "--", ...BUILD_FILES])) === "";
    expect(lines).toEqual(
      expect.arrayContaining([
        buildFilesCommitted
          ? "bench-agent: the agent's Lab runs its bundle (dist/lab.mjs)"
          : expect.stringMatching(
              /^bench-agent: the agent's Lab runs its sources through tsx .*is not this installation's/,
            ),
      ]),
    );
  });

  it("never shows the model a hidden test, inject.patch or oracle.json (c)", async () => {
    const requests = model.requests.filter((r) => r.path.startsWith("/v1/messages"));
    expect(requests.length).toBeGreaterThanOrEqual(tasks.length);
    const everything = requests.map((r) => stringsOf(r.body).join("\n"));
    const shown = requests.map((r) => harnessText(r.body));
    // What was found where it must not be: "<task>: <what> in request <i>", empty when nothing leaked.
    const leaks: string[] = [];
    const look = (task: string, what: string, text: string | undefined, needle: string, i: number) => {
      if (text?.includes(needle)) leaks.push(`${task}: ${what} ${JSON.stringify(needle)} in request ${i}`);
    };
    // No request names the files the harness keeps from the agent.
    shown.forEach((text, i) => {
      for (const name of ["inject.patch", "oracle.json", "hidden-tests"])
        look("any", "the file", text, name, i);
    });
    let hiddenFiles = 0;
    let needles = 0;
    for (const task of tasks) {
      const marker = taskMarker(task.name);
      const mine = requests.flatMap((_r, i) => (shown[i]?.includes(marker) ? [i] : []));
      expect(mine.length, task.name).toBeGreaterThanOrEqual((task.oracle?.steps.length ?? 0) + 1);
      // The package as the agent started from it (the task repository's main, kept by the run).
      const pkg = await folderText(path.join(run.runDir, "tasks", task.name, "repo"));
      const known = `${pkg}\n${task.spec.statement}`;
      // What the oracle's model says: its tools' inputs and its summary (not the tool names, which every
      // request's tool list carries).
      const oracleText = stringsOf([task.oracle?.steps.map((s) => s.input), task.oracle?.summary]).join("\n");
      // (1) Hidden tests: each file's name, and its lines found neither in the package nor in the
      // oracle (which the model says itself), in no request at all.
      const hidden = (await readdir(task.hiddenDir, { recursive: true, withFileTypes: true })).filter((e) =>
        e.isFile(),
      );
      for (const file of hidden) {
        const full = path.join(file.parentPath, file.name);
        const rel = path.relative(task.hiddenDir, full);
        const lines = distinctive(await readFile(full, "utf8")).filter(
          (l) => !known.includes(l) && !oracleText.includes(l),
        );
        expect(lines.length, `${task.name}: ${rel} has a line of its own to look for`).toBeGreaterThan(0);
        for (const i of mine) {
          look(task.name, "the hidden file", everything[i], rel, i);
          for (const l of lines) look(task.name, `${rel}'s line`, everything[i], l, i);
        }
        hiddenFiles++;
        needles += lines.length;
      }
      // (2) inject.patch: the lines it removed that are not in the package (the original code), in none of
      // the task's requests until the agent first changes something (after that, its own fix may show
      // them: an edit's result, a file read back).
      const steps = task.oracle?.steps ?? [];
      const firstChange = steps.findIndex((s) => !READ_ONLY.has(s.tool));
      const looking = mine.slice(0, 1 + (firstChange === -1 ? steps.length : firstChange));
      if (task.injectPatch) {
        const removed = (await readFile(task.injectPatch, "utf8"))
          .split("\n")
          .filter((l) => l.startsWith("-") && !l.startsWith("---"))
          .map((l) => l.slice(1));
        for (const l of distinctive(removed.join("\n"), 16).filter((x) => !known.includes(x))) {
          for (const i of looking) look(task.name, "inject.patch's removed line", everything[i], l, i);
          needles++;
        }
      }
      // (3) oracle.json: before the model has said anything, the Lab's first request carries none of
      // its text that is not already in the package or the statement; its closing summary, no request.
      const first = mine.find((i) => messagesOf(requests[i]?.body).length === 1);
      expect(first, `${task.name}: a first request`).toBeDefined();
      for (const l of distinctive(oracleText, 16).filter((x) => !known.includes(x))) {
        look(task.name, "oracle.json's", shown[first as number], l, first as number);
        needles++;
      }
      for (const i of mine)
        look(task.name, "the oracle's summary", everything[i], task.oracle?.summary ?? "", i);
    }
    expect(leaks).toEqual([]);
    expect(hiddenFiles).toBeGreaterThanOrEqual(tasks.length);
    expect(needles).toBeGreaterThan(tasks.length * 3);
  });
});

describe("a candidate whose ts_rename refuses every rename (d)", () => {
  let comparison: Comparison;
  let model: ScriptedModelServer;

  beforeAll(async () => {
    const tasksDir = path.join(work, "tasks-rename");
    for (const name of [...RENAME_TASKS, CONTROL_TASK])
      await cp(path.join(TASKS, name), path.join(tasksDir, name), { recursive: true });
    const { tasks } = await loadTasks(tasksDir);
    // Each task's oracle twice: once for main's Lab, once for the candidate's (run one after the other).
    const once = tasks.flatMap((t) => oracleScript(t, taskMarker(t.name)));
    model = await startScriptedModel([...once, ...once]);
    comparison = await compareRefs({
      repo: clone,
      refs: ["main", BROKEN],
      tasksDir,
      parallel: 3,
      config: configFor(model),
      progress: () => {},
    });
  }, 240_000);
  afterAll(() => model?.close());

  it("scores the candidate measurably lower, and the paired test says how sure that is", async () => {
    const { a, b, paired, verdict } = comparison;
    expect(a.result.ref).toBe(await runGit(clone, ["rev-parse", "main"]));
    expect(b.result.ref).toBe(await runGit(clone, ["rev-parse", BROKEN]));
    expect(a.result.solved, formatBench(a.result)).toBe(3);
    expect(b.result.solved, formatBench(b.result)).toBe(1);
    const lost = b.result.tasks.filter((t) => !t.solved);
    expect(lost.map((t) => t.name).sort()).toEqual(RENAME_TASKS);
    for (const t of lost) expect(t.reason).toMatch(/^the hidden tests failed \(exit \d+\): /);
    // The candidate's own code ran: its Labs got the refusal back from ts_rename.
    const results = model.requests.flatMap((r) =>
      messagesOf(r.body).flatMap((m) => (Array.isArray(m.content) ? m.content : [])),
    ) as { type?: string; is_error?: boolean }[];
    const refusals = results.filter(
      (c) => c.type === "tool_result" && c.is_error === true && stringsOf(c).join("").includes(REFUSAL),
    );
    expect(refusals.length).toBeGreaterThanOrEqual(RENAME_TASKS.length);
    // Paired: 2 tasks solved only by main, none only by the candidate; 2 discordant pairs are too few
    // for McNemar's exact test (p = 0.5), and the verdict says so rather than calling a winner.
    expect(paired.mcnemar).toMatchObject({ aOnly: 2, bOnly: 0, both: 1, neither: 0 });
    expect(paired.mcnemar.pValue).toBeCloseTo(0.5, 6);
    expect(paired.solvedShare.estimate).toBeCloseTo(2 / 3, 6);
    expect(verdict).toBe(
      `main and ${BROKEN} differ by 2 task(s) (2 solved only by main, 0 only by ${BROKEN}): within noise (p = 0.500, McNemar's exact test), so neither is shown to be better`,
    );
    const text = formatComparison(comparison);
    expect(text).toContain("solved 3/3 (100 %)");
    expect(text).toContain("solved 1/3 (33 %)");
    expect(text).toContain("solved share A − B: +66.7 points");
  });
});

describe("a model that gives up, bad task folders and a hanging Lab (b, e)", () => {
  it("solves nothing, each task with its reason; each bad folder is one line and the rest still run", async () => {
    const { run, lines } = await giveUp;
    const byName = new Map(run.result.tasks.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual([...GIVE_UP_TASKS, HANGS].sort());
    expect(run.result.solved).toBe(0);
    for (const name of GIVE_UP_TASKS) {
      const t = byName.get(name);
      expect(t?.solved, name).toBe(false);
      // The Lab finished (it gave up); the hidden tests then failed, named.
      expect(t?.reason, name).toMatch(/^the hidden tests failed \(exit \d+\): (failing: |.*error TS\d+)/);
      expect(t?.toolCalls).toBe(0);
    }
    // One line per bad folder, naming it and what is wrong.
    const skipped = lines.filter((l) => l.startsWith("bench-agent: skipped "));
    expect(skipped).toHaveLength(3);
    expect(run.problems.map((p) => p.task).sort()).toEqual([
      "no-hidden",
      "no-task-json",
      "test-not-a-string",
    ]);
    expect(skipped.find((l) => l.includes("no-task-json"))).toMatch(/no task\.json/);
    expect(skipped.find((l) => l.includes("test-not-a-string"))).toMatch(/test: .*string/i);
    expect(skipped.find((l) => l.includes("no-hidden"))).toMatch(/no hidden\/ folder/);
  });

  it("kills a Lab that hangs at LOOM_LAB_TIMEOUT_MS, counts it unsolved with why, and leaves nothing running", async () => {
    const { run, model } = await giveUp;
    const hung = run.result.tasks.find((t) => t.name === HANGS);
    expect(hung?.solved).toBe(false);
    expect(hung?.reason).toMatch(/^the Lab ended timed_out: /);
    expect(hung?.reason).toContain(String(LAB_TIMEOUT_MS));
    expect(hung?.durationMs).toBeGreaterThanOrEqual(LAB_TIMEOUT_MS);
    // Killed, not answered: the model would answer after 600 s. The task's setup and the kill take
    // their share beside a loaded suite (30.6 s over the timeout once in CI).
    expect(hung?.durationMs).toBeLessThan(LAB_TIMEOUT_MS + 60_000);
    // It hung waiting on the model: its request reached the server, which never answered in time.
    expect(
      model.requests.some((r) => harnessText(r.body).includes(taskMarker(HANGS))),
      "the hanging Lab asked the model",
    ).toBe(true);
    // Nothing of the run is left: no process under its folder, and the folder itself is gone.
    expect(await processesUnder(run.runDir)).toEqual([]);
    await expect(readdir(run.runDir)).rejects.toThrow(/ENOENT/);
  });

  it("names a ref that does not exist", async () => {
    const model = await startScriptedModel([]);
    try {
      await expect(
        runBench({
          repo: clone,
          ref: "no-such-branch",
          tasksDir: TASKS,
          parallel: 1,
          config: configFor(model),
          progress: () => {},
        }),
      ).rejects.toThrow(
        new BenchInputError(
          `--ref "no-such-branch" does not exist in ${clone}; accepted: a branch, tag or commit (e.g. HEAD, main, lab/gen-3)`,
        ),
      );
    } finally {
      await model.close();
    }
  });

  it("loom bench-agent refuses --parallel 0, a missing ref and a lone --compare ref with exit 2", async () => {
    const env = { LOOM_STATE_DIR: path.join(work, "cli-state"), LOOM_RUNTIME: "local" };
    const [parallel, ref, compare] = await Promise.all([
      loom(["bench-agent", "--parallel", "0"], { cwd: clone, env }),
      loom(["bench-agent", "--ref", "no-such-branch"], { cwd: clone, env }),
      loom(["bench-agent", "--compare", "main"], { cwd: clone, env }),
    ]);
    expect(parallel.code).toBe(2);
    expect(parallel.stderr).toContain('--parallel must be a whole number from 1 to 16 (got "0")');
    expect(ref.code).toBe(2);
    expect(ref.stderr).toContain('--ref "no-such-branch" does not exist');
    expect(compare.code).toBe(2);
    expect(compare.stderr).toContain("--compare takes exactly two refs");
  });
});

describe("the agent's Lab bundle and the failure reason", () => {
  it("builds no bundle for a tree whose build files are not this installation's, and says which", async () => {
    const tree = path.join(work, "other-tree");
    for (const file of BUILD_FILES) {
      await mkdir(path.dirname(path.join(tree, file)), { recursive: true });
      await cp(path.join(LOOM_ROOT, file), path.join(tree, file));
    }
    await writeFile(path.join(tree, BUILD_FILES[0]), "// a build of its own\n", { flag: "a" });
    expect(await buildAgentBundle(tree, LOOM_ROOT)).toEqual({
      lab: "sources",
      why: `its ${BUILD_FILES[0]} is not this installation's, so its own build is not known`,
    });
    await expect(readdir(path.join(tree, "dist"))).rejects.toThrow(/ENOENT/);
  });

  it("names the failing tests, the counts and the first type error", () => {
    const tap = [
      "TAP version 13",
      "# Subtest: formats negatives",
      "not ok 1 - formats negatives",
      "    not ok 2 - rounds -1.5 up # a comment",
      "ok 3 - keeps positives",
      "# pass 1",
      "# fail 2",
    ].join("\n");
    expect(failureReason(tap)).toBe("failing: formats negatives; rounds -1.5 up (2 failed, 1 passed)");
    expect(
      failureReason("x.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n"),
    ).toBe("x.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.");
    expect(failureReason("line 1\nSyntaxError: Unexpected token\n")).toBe(
      "line 1 | SyntaxError: Unexpected token",
    );
  });
});
