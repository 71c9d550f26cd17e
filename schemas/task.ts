import { z } from "zod";

/** A task folder's name, and so the task's: lowercase letters, digits and dashes. */
export const TaskName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'expected lowercase letters, digits and dashes, e.g. "mitt-off-wildcard"');
export type TaskName = z.infer<typeof TaskName>;

// npm's name rules (lowercase, optional @scope/) and an exact semver: no range, no dist-tag.
const NUMBER = "(?:0|[1-9]\\d*)";
const NPM_SPEC = new RegExp(
  `^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*@${NUMBER}\\.${NUMBER}\\.${NUMBER}` +
    "(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?$",
);

/** Where a task's starting code comes from when it is not written in the task's own `repo/`. */
export const TaskSource = z.strictObject({
  npm: z
    .string()
    .regex(
      NPM_SPEC,
      'expected "<package>@<exact version>", e.g. "ms@2.1.3" or "@scope/pkg@1.0.0" (no ranges, no tags like @latest)',
    ),
});
export type TaskSource = z.infer<typeof TaskSource>;

/**
 * tasks/<name>/task.json: a coding task for `loom bench-agent`. Solved when `test`, run in the
 * workspace after `hidden/` is copied over it, exits 0. The loader applies timeoutMs's default (60 s).
 */
export const TaskSpec = z.strictObject({
  /** What the agent is asked, as a user would write an issue. */
  statement: z.string().trim().min(1),
  /** A shell command run with the workspace as cwd. */
  test: z.string().trim().min(1),
  /** For the test command. */
  timeoutMs: z.number().int().positive().optional(),
  /** `--filter` keeps the tasks carrying a tag: a kind, a size, the package name. */
  tags: z.array(z.string().min(1)).optional(),
  /** Without it the task's `repo/` is the starting workspace. */
  source: TaskSource.optional(),
});
export type TaskSpec = z.infer<typeof TaskSpec>;

const count = z.number().int().nonnegative();

/** One task's outcome in a `loom bench-agent` run. */
export const BenchAgentTaskResult = z.strictObject({
  name: TaskName,
  solved: z.boolean(),
  /** Why it was not solved (a failing test's tail, a timeout, a Lab failure). */
  reason: z.string().min(1).optional(),
  tokens: count,
  /** The model proxy's dollars for this task; null when a model's price is unknown. */
  costUsd: z.number().nonnegative().nullable().optional(),
  durationMs: count,
  toolCalls: count,
});
export type BenchAgentTaskResult = z.infer<typeof BenchAgentTaskResult>;

/**
 * `loom bench-agent --json`'s output, and what is stored per ref: reused only when ref, model,
 * apiBase and taskSet all match.
 */
export const BenchAgentResult = z
  .strictObject({
    /** The commit the Lab agent was built from. */
    ref: z.string().min(1),
    model: z.string().min(1),
    /** The model API endpoint the run used (scripted server, proxy, provider). */
    apiBase: z.string().min(1),
    /** sha256 over the task folders' files: the same tasks, byte for byte. */
    taskSet: z.string().regex(/^[0-9a-f]{64}$/, "expected a sha256 in hex (64 characters)"),
    solved: count,
    total: count,
    /** Null when a model's price is unknown. */
    costUsd: z.number().nonnegative().nullable(),
    tasks: z.array(BenchAgentTaskResult),
  })
  .superRefine((r, ctx) => {
    if (r.total !== r.tasks.length) {
      ctx.addIssue({
        code: "custom",
        path: ["total"],
        message: `must equal tasks.length (${r.tasks.length})`,
      });
    }
    const solved = r.tasks.filter((t) => t.solved).length;
    if (r.solved !== solved) {
      ctx.addIssue({ code: "custom", path: ["solved"], message: `must equal the solved tasks (${solved})` });
    }
  });
export type BenchAgentResult = z.infer<typeof BenchAgentResult>;
