import { signalGroup } from "./local-proc.ts";

/**
 * Process groups this process started and has not yet seen end. bubblewrap's --die-with-parent is armed
 * only some milliseconds after bwrap starts: measured with bubblewrap 0.8, a parent that exits within
 * ~5 ms of the spawn left 28 of 30 sandboxes running for good (a Supervisor that shut down just after a
 * verification step started). So whatever is still ours when this process exits is killed then.
 * A SIGKILLed parent runs no hook; in that window the next start's reaping is what remains.
 */
const live = new Set<number>();
let hooked = false;

/** Kills the group when this process exits, unless the returned release was called first. */
export function killGroupOnExit(pgid: number): () => void {
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const group of live) signalGroup(group, "SIGKILL");
    });
  }
  live.add(pgid);
  return () => {
    live.delete(pgid);
  };
}
