/**
 * Fits a unified diff into a character budget without cutting silently: every file keeps its header,
 * the largest hunks are kept while they fit, and each file says exactly what of it was left out.
 */

export interface Hunk {
  readonly text: string;
  readonly added: number;
  readonly removed: number;
}

export interface FileDiff {
  readonly path: string;
  /** `diff --git`, mode, index, `---`/`+++` lines: everything before the first hunk. */
  readonly header: string;
  readonly hunks: readonly Hunk[];
  readonly added: number;
  readonly removed: number;
}

export interface DiffDigest {
  readonly text: string;
  /** true when the whole diff fitted and nothing was left out. */
  readonly complete: boolean;
  readonly totalChars: number;
  readonly files: number;
  readonly totalHunks: number;
  readonly keptHunks: number;
  readonly omittedHunks: number;
  readonly omittedChars: number;
  readonly omittedAdded: number;
  readonly omittedRemoved: number;
  /** Files none of whose hunks could be shown. */
  readonly filesWithoutHunks: number;
}

const GIT_FILE = /^diff --git a\/(.*?) b\/(.*)$/;

export function parseUnifiedDiff(diff: string): FileDiff[] {
  const lines = diff.split("\n");
  const files: FileDiff[] = [];
  let path = "";
  let header: string[] = [];
  let hunks: { lines: string[]; added: number; removed: number }[] = [];
  const flush = () => {
    if (header.length === 0 && hunks.length === 0) return;
    const hs = hunks.map((h) => ({ text: `${h.lines.join("\n")}\n`, added: h.added, removed: h.removed }));
    files.push({
      path: path || "(diff)",
      header: header.length ? `${header.join("\n")}\n` : "",
      hunks: hs,
      added: hs.reduce((n, h) => n + h.added, 0),
      removed: hs.reduce((n, h) => n + h.removed, 0),
    });
  };
  for (const line of lines) {
    const file = GIT_FILE.exec(line);
    if (file) {
      flush();
      path = file[2] ?? "";
      header = [line];
      hunks = [];
    } else if (line.startsWith("@@")) {
      hunks.push({ lines: [line], added: 0, removed: 0 });
    } else if (hunks.length > 0) {
      const h = hunks[hunks.length - 1]!;
      h.lines.push(line);
      if (line.startsWith("+")) h.added++;
      else if (line.startsWith("-")) h.removed++;
    } else if (line !== "" || header.length > 0) {
      if (!path && line.startsWith("+++ ")) path = line.slice(4).replace(/^b\//, "");
      header.push(line);
    }
  }
  flush();
  // The split leaves one empty trailing line on the last hunk of a diff ending in "\n".
  return files.map((f) => ({
    ...f,
    hunks: f.hunks.map((h) => ({ ...h, text: h.text.replace(/\n\n$/, "\n") })),
  }));
}

const fmt = (n: number): string => n.toLocaleString("en-US");
const HEADER_MAX = 400;

export function digestDiff(diff: string, budget: number): DiffDigest {
  const files = parseUnifiedDiff(diff);
  const allHunks = files.flatMap((f, fi) => f.hunks.map((h, hi) => ({ fi, hi, h })));
  const base = {
    totalChars: diff.length,
    files: files.length,
    totalHunks: allHunks.length,
  };
  if (diff.length <= budget) {
    return {
      ...base,
      text: diff,
      complete: true,
      keptHunks: allHunks.length,
      omittedHunks: 0,
      omittedChars: 0,
      omittedAdded: 0,
      omittedRemoved: 0,
      filesWithoutHunks: 0,
    };
  }
  const headers = files.map((f) =>
    f.header.length <= HEADER_MAX
      ? f.header
      : `${f.header.slice(0, HEADER_MAX)}\n[loom: header cut, ${fmt(f.header.length - HEADER_MAX)} chars left out]\n`,
  );
  // Room kept for each file's "left out" note, so the notes can never push the text over budget.
  const NOTE_RESERVE = 140;
  const skeleton = headers.reduce((n, h) => n + h.length + NOTE_RESERVE, 0);
  const kept = new Set<string>();
  if (skeleton <= budget) {
    let room = budget - skeleton;
    const bySize = [...allHunks].sort(
      (a, b) => b.h.text.length - a.h.text.length || a.fi - b.fi || a.hi - b.hi,
    );
    for (const { fi, hi, h } of bySize) {
      if (h.text.length <= room) {
        kept.add(`${fi}:${hi}`);
        room -= h.text.length;
      }
    }
    let text = "";
    files.forEach((f, fi) => {
      text += headers[fi];
      let n = 0;
      let chars = 0;
      let added = 0;
      let removed = 0;
      f.hunks.forEach((h, hi) => {
        if (kept.has(`${fi}:${hi}`)) text += h.text;
        else {
          n++;
          chars += h.text.length;
          added += h.added;
          removed += h.removed;
        }
      });
      if (n > 0) {
        text +=
          `[loom: left out of ${clipPath(f.path)}: ${n} of ${f.hunks.length} hunks, ` +
          `+${fmt(added)} -${fmt(removed)} lines, ${fmt(chars)} chars]\n`;
      }
    });
    return summarize(base, files, kept, text);
  }
  // Too many files for even their headers: a bounded file list, and say how many did not fit.
  let text = "";
  let listed = 0;
  for (const f of files) {
    const line = `${f.path}  +${fmt(f.added)} -${fmt(f.removed)} (${f.hunks.length} hunks, not shown)\n`;
    if (text.length + line.length > budget - 200) break;
    text += line;
    listed++;
  }
  if (listed < files.length) {
    const rest = files.slice(listed);
    text +=
      `[loom: ${fmt(rest.length)} more files not listed, ` +
      `+${fmt(rest.reduce((n, f) => n + f.added, 0))} -${fmt(rest.reduce((n, f) => n + f.removed, 0))} lines]\n`;
  }
  return summarize(base, files, kept, text);
}

function clipPath(p: string): string {
  return p.length <= 80 ? p : `…${p.slice(-79)}`;
}

function summarize(
  base: Pick<DiffDigest, "totalChars" | "files" | "totalHunks">,
  files: readonly FileDiff[],
  kept: ReadonlySet<string>,
  text: string,
): DiffDigest {
  let omittedHunks = 0;
  let omittedChars = 0;
  let omittedAdded = 0;
  let omittedRemoved = 0;
  let filesWithoutHunks = 0;
  files.forEach((f, fi) => {
    let shown = 0;
    f.hunks.forEach((h, hi) => {
      if (kept.has(`${fi}:${hi}`)) shown++;
      else {
        omittedHunks++;
        omittedChars += h.text.length;
        omittedAdded += h.added;
        omittedRemoved += h.removed;
      }
    });
    if (shown === 0 && f.hunks.length > 0) filesWithoutHunks++;
  });
  return {
    ...base,
    text,
    complete: false,
    keptHunks: base.totalHunks - omittedHunks,
    omittedHunks,
    omittedChars,
    omittedAdded,
    omittedRemoved,
    filesWithoutHunks,
  };
}

/** The sentence the reviewer reads before a summarised diff: what was left out and how much. */
export function describeOmission(d: DiffDigest, budget: number): string {
  if (d.complete) return `The diff below is complete (${fmt(d.totalChars)} chars, ${fmt(d.files)} files).`;
  return (
    `The diff is ${fmt(d.totalChars)} chars, over this review's ${fmt(budget)}-char budget, so it is summarised: ` +
    `every file's header is kept and the largest hunks that fit (${fmt(d.keptHunks)} of ${fmt(d.totalHunks)}). ` +
    `LEFT OUT: ${fmt(d.omittedHunks)} hunks, +${fmt(d.omittedAdded)} -${fmt(d.omittedRemoved)} lines, ` +
    `${fmt(d.omittedChars)} chars` +
    (d.filesWithoutHunks
      ? `; ${fmt(d.filesWithoutHunks)} of ${fmt(d.files)} files show no hunk at all`
      : "") +
    `. Each file says what of it was left out ([loom: left out ...]). Judge the left-out parts from the ` +
    `declaration summary; if what is shown is not enough to approve safely, reject and say so.`
  );
}
