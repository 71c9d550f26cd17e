import { editDistance } from "../edit-distance.ts";

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
