/**
 * A small unified diff (`diff -u` format) for edit results. Edits are local, so common head and tail
 * lines are trimmed first and an LCS table is built only for the changed middle; a middle too large
 * for the table is shown as one replaced block (still a correct diff, just not minimal).
 */

type Op = { t: " " | "-" | "+"; line: string };

const MAX_TABLE = 4_000_000;

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function middleOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_TABLE) {
    return [...a.map((line): Op => ({ t: "-", line })), ...b.map((line): Op => ({ t: "+", line }))];
  }
  // lcs[i][j] = LCS length of a[i..] and b[j..], flattened.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] =
        a[i] === b[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ t: " ", line: a[i]! });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) {
      ops.push({ t: "-", line: a[i++]! });
    } else {
      ops.push({ t: "+", line: b[j++]! });
    }
  }
  while (i < n) ops.push({ t: "-", line: a[i++]! });
  while (j < m) ops.push({ t: "+", line: b[j++]! });
  return ops;
}

/** Unified diff of two texts with `context` lines around each change; "" when they are equal. */
export function unifiedDiff(oldText: string, newText: string, fileName: string, context = 3): string {
  if (oldText === newText) return "";
  const a = splitLines(oldText);
  const b = splitLines(newText);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const ops: Op[] = [
    ...a.slice(0, head).map((line): Op => ({ t: " ", line })),
    ...middleOps(a.slice(head, a.length - tail), b.slice(head, b.length - tail)),
    ...a.slice(a.length - tail).map((line): Op => ({ t: " ", line })),
  ];
  const out = [`--- a/${fileName}`, `+++ b/${fileName}`];
  // Line numbers (1-based) of each op in the old and new text.
  const oldNo: number[] = [];
  const newNo: number[] = [];
  let on = 1;
  let nn = 1;
  for (const op of ops) {
    oldNo.push(on);
    newNo.push(nn);
    if (op.t !== "+") on++;
    if (op.t !== "-") nn++;
  }
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.t === " ") {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // Extend the hunk while the next change is within 2·context unchanged lines.
    while (end < ops.length) {
      if (ops[end]!.t !== " ") {
        end++;
        continue;
      }
      let run = end;
      while (run < ops.length && ops[run]!.t === " ") run++;
      if (run < ops.length && run - end <= 2 * context) end = run;
      else {
        end = Math.min(ops.length, end + context);
        break;
      }
    }
    const hunk = ops.slice(start, end);
    const oldCount = hunk.filter((o) => o.t !== "+").length;
    const newCount = hunk.filter((o) => o.t !== "-").length;
    const oldStart = oldCount === 0 ? oldNo[start]! - 1 : oldNo[start]!;
    const newStart = newCount === 0 ? newNo[start]! - 1 : newNo[start]!;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const o of hunk) out.push(o.t + o.line);
    k = end;
  }
  const eol = (t: string) => t === "" || t.endsWith("\n");
  if (!eol(oldText) || !eol(newText)) out.push("\\ (a file does not end with a newline)");
  return `${out.join("\n")}\n`;
}
