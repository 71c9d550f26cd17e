import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { TaskName, TaskSpec } from "../../schemas/task.ts";
import { LoomError } from "../shared/errors.ts";
import { formatIssues } from "../shared/zod-issues.ts";
import { Oracle } from "./oracle.ts";

/** The test command's time limit when task.json gives none. */
export const DEFAULT_TEST_TIMEOUT_MS = 60_000;

/** One loaded task: its folder's parts as absolute paths, the spec with its defaults applied. */
export interface Task {
  readonly name: string;
  readonly dir: string;
  readonly spec: TaskSpec & { readonly timeoutMs: number };
  /** Copied over the workspace after the agent has finished. */
  readonly hiddenDir: string;
  /** The starting workspace of a task written here (no `source`). */
  readonly repoDir?: string;
  /** Applied to the starting workspace when present. */
  readonly injectPatch?: string;
  readonly oracle?: Oracle;
}

/** A task folder that cannot be run: `message` is one line naming the folder and what is wrong. */
export interface TaskProblem {
  readonly task: string;
  readonly message: string;
}

/** A tasks folder that cannot be used at all, or a filter that keeps nothing. */
export class TaskSetError extends LoomError {
  constructor(message: string) {
    super("TASK_SET_INVALID", message);
  }
}

const LAYOUT =
  "a task folder holds task.json, hidden/, and either repo/ or a source.npm in task.json (with an optional inject.patch)";

const kindOf = (p: string) =>
  stat(p).then(
    (s) => (s.isDirectory() ? "dir" : "file"),
    () => undefined,
  );

/** The folder as a person would type it: relative to the working directory when under it. */
const shown = (p: string): string => {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
};

type Checked = { task: Task } | { problem: string; tags?: readonly string[] };

async function readJson<T>(file: string, schema: z.ZodType<T>, label: string): Promise<T | string> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    const why = err instanceof SyntaxError ? err.message : `cannot be read (${(err as Error).message})`;
    return `${label} is not valid JSON: ${why}`;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : `${label}: ${formatIssues(parsed.error, { root: "(whole file)" })}`;
}

async function checkTask(dir: string, name: string): Promise<Checked> {
  const named = TaskName.safeParse(name);
  if (!named.success) return { problem: `folder name ${JSON.stringify(name)}: ${formatIssues(named.error)}` };
  if ((await kindOf(path.join(dir, "task.json"))) !== "file") return { problem: `no task.json (${LAYOUT})` };
  const spec = await readJson(path.join(dir, "task.json"), TaskSpec, "task.json");
  if (typeof spec === "string") return { problem: spec };
  const [hidden, repo, inject, oracleKind] = await Promise.all(
    ["hidden", "repo", "inject.patch", "oracle.json"].map((p) => kindOf(path.join(dir, p))),
  );
  const problems: string[] = [];
  if (hidden !== "dir") problems.push("no hidden/ folder (the hidden tests copied in after the agent)");
  if (spec.source && repo !== undefined) {
    problems.push("has both repo/ and source.npm in task.json; give one: repo/ for a task written here");
  } else if (!spec.source && repo !== "dir") {
    problems.push(
      'no repo/ folder and no source.npm in task.json; give one (e.g. "source": {"npm": "ms@2.1.3"})',
    );
  }
  if (inject !== undefined && inject !== "file") problems.push("inject.patch is not a file");
  let oracle: Oracle | undefined;
  if (oracleKind !== undefined) {
    const read = await readJson(path.join(dir, "oracle.json"), Oracle, "oracle.json");
    if (typeof read === "string") problems.push(read);
    else oracle = read;
  }
  if (problems.length > 0) return { problem: problems.join("; "), tags: spec.tags ?? [] };
  return {
    task: {
      name,
      dir,
      spec: { ...spec, timeoutMs: spec.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS },
      hiddenDir: path.join(dir, "hidden"),
      ...(repo === "dir" ? { repoDir: path.join(dir, "repo") } : {}),
      ...(inject === "file" ? { injectPatch: path.join(dir, "inject.patch") } : {}),
      ...(oracle ? { oracle } : {}),
    },
  };
}

/**
 * Every task folder of `dir`, sorted by name. A bad task never throws: it is left out and named in
 * `problems`, one line each. Throws TaskSetError when `dir` is missing or holds no task folder, and
 * when `filter` (a tag) is carried by no task (naming the tags there are).
 */
export async function loadTasks(
  dir: string,
  options: { readonly filter?: string } = {},
): Promise<{ tasks: Task[]; problems: TaskProblem[] }> {
  const root = path.resolve(dir);
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    const why =
      err.code === "ENOENT" ? "does not exist" : err.code === "ENOTDIR" ? "is not a folder" : err.message;
    throw new TaskSetError(
      `tasks folder ${root} ${why}; accepted: a folder of task folders (<dir>/<name>/task.json)`,
    );
  });
  const names = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) {
    throw new TaskSetError(
      `tasks folder ${root} has no task folders; accepted: ${LAYOUT}, one folder per task`,
    );
  }
  const { filter } = options;
  if (filter !== undefined && filter.trim() === "") {
    throw new TaskSetError("--filter needs a tag (e.g. bugfix, small, or a package name)");
  }
  const checked = await Promise.all(names.map((name) => checkTask(path.join(root, name), name)));
  const tagsOf = (c: Checked) => ("task" in c ? (c.task.spec.tags ?? []) : c.tags);
  if (filter !== undefined && !checked.some((c) => tagsOf(c)?.includes(filter))) {
    const there = [...new Set(checked.flatMap((c) => tagsOf(c) ?? []))].sort().join(", ") || "(none)";
    throw new TaskSetError(
      `--filter ${JSON.stringify(filter)}: no task in ${root} carries that tag; tags there: ${there}`,
    );
  }
  const tasks: Task[] = [];
  const problems: TaskProblem[] = [];
  checked.forEach((c, i) => {
    // A broken task whose tags are known and lack the filter is not part of this run; one whose
    // task.json cannot be read is reported whatever the filter.
    const tags = tagsOf(c);
    if (filter !== undefined && tags !== undefined && !tags.includes(filter)) return;
    if ("task" in c) tasks.push(c.task);
    else problems.push({ task: names[i]!, message: `${shown(path.join(root, names[i]!))}: ${c.problem}` });
  });
  return { tasks, problems };
}
