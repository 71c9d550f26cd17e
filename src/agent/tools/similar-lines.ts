/**
 * Finds where a failed exact match was probably meant to go, so the model can copy the real text instead
 * of guessing again. Scores windows of file lines against the wanted lines by character-bigram overlap
 * (Dice coefficient) on whitespace-normalised text: cheap, and robust to the usual indentation slips.
 */

export interface SimilarWindow {
  /** 1-based first line of the window. */
  readonly line: number;
  readonly lines: readonly string[];
  /** 0..1; 1 means identical once whitespace is normalised. */
  readonly score: number;
}

/** Compared lines of the wanted text: enough to place it, bounded so big files stay fast. */
const MAX_WANTED_LINES = 30;

export function similarWindows(
  fileLines: readonly string[],
  wanted: string,
  options: { max?: number; minScore?: number } = {},
): SimilarWindow[] {
  const max = options.max ?? 3;
  const minScore = options.minScore ?? 0.3;
  let want = wanted.split("\n").map(normalize);
  while (want.length > 1 && want[want.length - 1] === "") want.pop();
  while (want.length > 1 && want[0] === "") want.shift();
  const k = want.length;
  want = want.slice(0, MAX_WANTED_LINES);
  const wantGrams = want.map(bigrams);
  const fileGrams = fileLines.map((l) => bigrams(normalize(l)));
  const scored: SimilarWindow[] = [];
  const last = Math.max(0, fileLines.length - k);
  for (let start = 0; start <= last && start < fileLines.length; start++) {
    let total = 0;
    for (let i = 0; i < want.length; i++) {
      const g = fileGrams[start + i];
      total += g === undefined ? 0 : dice(wantGrams[i]!, g, want[i]!, normalize(fileLines[start + i]!));
    }
    const score = total / want.length;
    if (score >= minScore) scored.push({ line: start + 1, lines: fileLines.slice(start, start + k), score });
  }
  scored.sort((a, b) => b.score - a.score || a.line - b.line);
  const picked: SimilarWindow[] = [];
  for (const w of scored) {
    // Neighbouring windows overlap and say the same thing; show distinct places.
    if (picked.some((p) => Math.abs(p.line - w.line) < Math.max(k, 1))) continue;
    picked.push(w);
    if (picked.length >= max) break;
  }
  return picked;
}

/** Names from `candidates` most like `name` (for "did you mean" on a missing file). */
export function similarNames(name: string, candidates: readonly string[], max = 3): string[] {
  const target = name.toLowerCase();
  const g = bigrams(target);
  return candidates
    .map((c) => ({ c, s: dice(g, bigrams(c.toLowerCase()), target, c.toLowerCase()) }))
    .filter((x) => x.s >= 0.5)
    .sort((a, b) => b.s - a.s)
    .slice(0, max)
    .map((x) => x.c);
}

/** Lines numbered like `cat -n`. */
export function numberLines(lines: readonly string[], firstLine: number): string {
  return lines.map((l, i) => `${String(firstLine + i).padStart(6)}\t${l}`).join("\n");
}

function normalize(line: string): string {
  return line.trim().replace(/\s+/g, " ");
}

function bigrams(s: string): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < s.length - 1; i++) {
    const g = s.slice(i, i + 2);
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

function dice(a: Map<string, number>, b: Map<string, number>, sa: string, sb: string): number {
  if (sa === sb) return 1;
  if (sa.length < 2 || sb.length < 2) return 0;
  let shared = 0;
  for (const [g, n] of a) shared += Math.min(n, b.get(g) ?? 0);
  return (2 * shared) / (sa.length - 1 + (sb.length - 1));
}
