import type { z } from "zod";

type Issue = z.core.$ZodIssue;

export interface FormatIssuesOptions {
  /** What the value as a whole is called when the issue is at its root: "(body)", "(input)"… */
  readonly root?: string;
  /** Path segments in front of every issue's own (the index of a list item checked on its own). */
  readonly prefix?: readonly PropertyKey[];
  /** At most this many issues, then "and N more". */
  readonly limit?: number;
}

/** `steps[0].tool`: where in the value the issue is, as one would write it in TypeScript. */
export function issuePath(path: readonly PropertyKey[], root = "(root)"): string {
  if (path.length === 0) return root;
  return path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
    .join("")
    .replace(/^\./, "");
}

/**
 * One issue as "where: what is accepted": zod's "Invalid input: " preamble dropped, and a missing
 * value said as such ("old_str: required (expected string)") rather than as a received undefined.
 */
export function formatIssue(issue: Issue, options: FormatIssuesOptions = {}): string {
  let message = issue.message.replace(/^Invalid input: /, "");
  if (issue.code === "invalid_type" && message.endsWith("received undefined")) {
    message = `required (expected ${issue.expected})`;
  }
  return `${issuePath([...(options.prefix ?? []), ...issue.path], options.root)}: ${message}`;
}

/** Every issue of a failed parse on one line, "; "-separated: the one way Loom reports a zod failure. */
export function formatIssues(
  error: z.ZodError | readonly Issue[],
  options: FormatIssuesOptions = {},
): string {
  const issues = Array.isArray(error) ? (error as readonly Issue[]) : (error as z.ZodError).issues;
  const shown = options.limit === undefined ? issues : issues.slice(0, options.limit);
  const more = issues.length - shown.length;
  const text = shown.map((i) => formatIssue(i, options)).join("; ");
  return more > 0 ? `${text}; and ${more} more` : text;
}
