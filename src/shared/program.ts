import { ProgramContract } from "../../schemas/program.ts";
import { LoomError } from "./errors.ts";
import { formatIssues } from "./zod-issues.ts";

export { ProgramContract };

type Key = keyof ProgramContract;

/** Sections in document order, with the heading renderProgram writes. */
const SECTIONS: readonly { key: Key; heading: string; list: boolean }[] = [
  { key: "task", heading: "# Task", list: false },
  { key: "objective", heading: "## Objective", list: false },
  { key: "files", heading: "## Files", list: true },
  { key: "acceptanceCriteria", heading: "## Acceptance criteria", list: true },
  { key: "constraints", heading: "## Constraints", list: true },
];
const ACCEPTED = SECTIONS.map((s) => `"${s.heading}"`).join(", ");

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const ITEM = /^\s*(?:[-*+]|\d+[.)])\s+(.*)$/;
const FENCE = /^\s*(```|~~~)/;

/** "## Acceptance Criteria:" and "### acceptance-criteria" name the same section. */
const normalize = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[:.]+$/, "")
    .replace(/[\s_-]+/g, " ")
    .trim();

const sectionFor = (title: string): { key: Key; inline: string } | undefined => {
  for (const s of SECTIONS) {
    const name = normalize(s.heading.replace(/^#+\s*/, ""));
    const t = normalize(title);
    if (t === name) return { key: s.key, inline: "" };
    // "# Task: add a cache" carries the task on the heading line.
    const m = title.match(/^([^:]+):\s*(.+)$/);
    if (m?.[1] && m[2] && normalize(m[1]) === name && s.key === "task") return { key: s.key, inline: m[2] };
  }
  return undefined;
};

const invalid = (message: string): LoomError => new LoomError("PROGRAM_INVALID", message);

/** Bullets (`-`, `*`, `+`, `1.`) become items; indented follow-on lines join the item before them. */
const toItems = (lines: readonly string[]): string[] => {
  const items: string[] = [];
  const loose: string[] = [];
  for (const line of lines) {
    const m = line.match(ITEM);
    if (m) items.push((m[1] ?? "").trim());
    else if (line.trim() === "") continue;
    else if (items.length > 0) items[items.length - 1] = `${items[items.length - 1]}\n${line.trim()}`;
    else loose.push(line.trim());
  }
  // A section written as plain lines, with no bullets at all, still counts: one item per line.
  return (items.length > 0 ? items : loose).filter((s) => s !== "");
};

/**
 * Parses program.md into its contract. Tolerant of heading level and case and of `-`/`*`/`1.` lists;
 * an unknown heading deeper than the open section stays inside it, any other ends it. Throws a
 * LoomError (PROGRAM_INVALID) naming every missing, empty or duplicated section.
 */
export function parseProgram(markdown: string): ProgramContract {
  const bodies = new Map<Key, string[]>();
  const duplicates: string[] = [];
  let current: { key: Key; level: number } | undefined;
  let inFence = false;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    if (FENCE.test(line)) inFence = !inFence;
    const h = inFence ? null : line.match(HEADING);
    if (h) {
      const level = (h[1] ?? "#").length;
      const found = sectionFor(h[2] ?? "");
      if (found) {
        if (bodies.has(found.key)) duplicates.push(found.key);
        bodies.set(found.key, found.inline ? [found.inline] : []);
        current = { key: found.key, level };
        continue;
      }
      if (current && level > current.level) {
        bodies.get(current.key)?.push(line);
        continue;
      }
      current = undefined;
      continue;
    }
    if (current) bodies.get(current.key)?.push(line);
  }

  const problems: string[] = [];
  if (duplicates.length > 0) {
    problems.push(
      `duplicated sections: ${[...new Set(duplicates)].map(headingOf).join(", ")} (merge each into one)`,
    );
  }
  const out: Partial<Record<Key, string | string[]>> = {};
  const missing: string[] = [];
  const empty: string[] = [];
  for (const s of SECTIONS) {
    const body = bodies.get(s.key);
    if (!body) {
      missing.push(s.heading);
      continue;
    }
    const value = s.list ? toItems(body) : body.join("\n").trim();
    if (value.length === 0) empty.push(s.heading);
    out[s.key] = value;
  }
  if (missing.length > 0) problems.push(`missing sections: ${missing.join(", ")}`);
  if (empty.length > 0) problems.push(`empty sections: ${empty.join(", ")}`);
  if (problems.length > 0) {
    throw invalid(
      `program.md is not a valid contract: ${problems.join("; ")}. Expected sections: ${ACCEPTED}.`,
    );
  }
  return ProgramContract.parse(out);
}

const headingOf = (key: string): string => SECTIONS.find((s) => s.key === key)?.heading ?? key;

/** Renders a contract as program.md; parseProgram(renderProgram(c)) gives c back for trimmed fields. */
export function renderProgram(contract: ProgramContract): string {
  const checked = ProgramContract.safeParse(contract);
  if (!checked.success) {
    const where = formatIssues(checked.error);
    throw invalid(
      `cannot render program.md: ${where}. Every section needs non-empty text or at least one item.`,
    );
  }
  const c = checked.data;
  const parts = SECTIONS.map((s) => {
    const value = c[s.key];
    const body = typeof value === "string" ? value.trim() : value.map(renderItem);
    return `${s.heading}\n\n${Array.isArray(body) ? body.join("\n") : body}\n`;
  });
  return parts.join("\n");
}

// Continuation lines are indented so the parser joins them back to their item.
const renderItem = (item: string): string =>
  `- ${item
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join("\n  ")}`;
