/** Edit distance (insert, delete, substitute), for "did you mean" on misspelt variable names. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The closest known name within `maxDistance` edits, or undefined when nothing is close. */
export function closest(name: string, known: readonly string[], maxDistance = 3): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= maxDistance && (best === undefined || distance < best.distance))
      best = { name: candidate, distance };
  }
  return best?.name;
}
