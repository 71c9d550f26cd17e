import { readdirSync, readFileSync } from "node:fs";
import { signalGroup } from "./local-proc.ts";

/**
 * Process groups this process started and has not yet seen end. bubblewrap's --die-with-parent is armed
 * only some milliseconds after bwrap starts: measured with bubblewrap 0.8, a parent that exits within
 * ~5 ms of the spawn left 28 of 30 sandboxes running for good (a Supervisor that shut down just after a
 * verification step started). So whatever is still ours when this process exits is killed then — the
 * whole tree, as bwrap's sandbox runs in a session (and pid namespace) of its own. A SIGKILLed parent
 * runs no hook; in that window the next start's reaping is what remains.
 */
const live = new Set<number>();
let hooked = false;

/** Every descendant of `roots`, read from /proc (Linux); empty elsewhere. */
function descendantsOf(roots: ReadonlySet<number>): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (const [pid] of parentOf) {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) {
      if (roots.has(p)) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}

function killAll(): void {
  if (live.size === 0) return;
  // Collected before anything is killed: a killed parent's children are re-parented at once.
  const tree = descendantsOf(live);
  for (const group of live) signalGroup(group, "SIGKILL");
  for (const pid of tree) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Kills the group and its descendants when this process exits, unless the returned release was called first. */
export function killGroupOnExit(pgid: number): () => void {
  if (!hooked) {
    hooked = true;
    process.on("exit", killAll);
  }
  live.add(pgid);
  return () => {
    live.delete(pgid);
  };
}
