import { join } from "node:path";

/**
 * What `loom demo --keep` prints about the folder it kept: where it is and the commands that inspect
 * it, ready to paste (the Supervisor's records live under its state/, read by `loom generations`).
 */
export function keptHint(scratch: string, kind: "cycle" | "round" | "lab-only"): string[] {
  const repo = join(scratch, "repo");
  const q = shellQuote;
  if (kind === "lab-only") {
    return [
      `kept: ${scratch}`,
      `  the Lab's branch:  git -C ${q(repo)} log --oneline --stat main..lab/gen-1`,
      `  its workspace:     ${join(scratch, "lab-gen-1")}`,
    ];
  }
  return [
    `kept: ${scratch}`,
    kind === "round"
      ? `  the round:         LOOM_STATE_DIR=${q(join(scratch, "state"))} loom generations --json`
      : `  the generations:   LOOM_STATE_DIR=${q(join(scratch, "state"))} loom generations`,
    `  the repository:    git -C ${q(repo)} log --oneline --graph --all`,
  ];
}

/** Quotes a path for a POSIX shell only when it needs it (temp folders rarely do). */
function shellQuote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}
