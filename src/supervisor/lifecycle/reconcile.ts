import type { GenerationOutcome } from "../../../schemas/generation.ts";
import type { Config } from "../../shared/config.ts";
import { archive, recoverPromotion, recoverRevert, rollback } from "../git/index.ts";
import { MAIN_REF, readRefs, tagRef } from "../git/repo-state.ts";
import { tryGit } from "../git/run-git.ts";
import type { UncheckedPromotion } from "../prime/prime-keeper.ts";
import type { GenerationStore, Intent, IntentJournal } from "../store/index.ts";
import type { SupervisorEmit } from "./events.ts";

export interface ReconcilePorts {
  readonly store: GenerationStore;
  readonly journal: IntentJournal;
  readonly config: Config;
  readonly emit: SupervisorEmit;
  /** Whether a Prime is kept: without one, a promotion's pending health check is dropped. */
  readonly primeKept: boolean;
}

export interface ReconcileResult {
  /** One line per intent found and what was done about it. */
  readonly actions: readonly string[];
  /** A promotion whose Prime check the next Prime start must carry out. */
  readonly unchecked: UncheckedPromotion | undefined;
}

const short = (sha: string): string => sha.slice(0, 12);

/**
 * Start-up repair, before the server listens: every intent an earlier Supervisor journaled and did not
 * clear is finished or undone from what git shows, and the records are made true to git. A promotion
 * whose main moved is recorded promoted; one whose main did not has any half-updated checkout put back
 * (the generation stays verifying, promotable again); a rollback is completed; a revert is completed.
 * A `verifying` record whose tag `gen-N` is on main (no journal: an older Supervisor) becomes promoted.
 */
export async function reconcileIntents(ports: ReconcilePorts): Promise<ReconcileResult> {
  const { store, journal, emit } = ports;
  const repo = ports.config.repoPath;
  const actions: string[] = [];
  let unchecked: UncheckedPromotion | undefined;
  const say = (n: number, message: string) => {
    actions.push(`gen-${n}: ${message}`);
    emit({ type: "log", at: new Date().toISOString(), generation: n, message: `reconcile: ${message}` });
  };
  const record = async (n: number, outcome: GenerationOutcome, reason: string | null) => {
    const updated = await store.update(n, { outcome, reason });
    emit({ type: "generation", at: new Date().toISOString(), generation: n, outcome, reason });
    return updated;
  };

  const settle = async (intent: Intent): Promise<void> => {
    const n = intent.generation;
    const current = await store.get(n);
    switch (intent.op) {
      case "promote": {
        const state = await recoverPromotion(repo, intent);
        if (state.state === "promoted") {
          if (current?.outcome === "verifying") await record(n, "promoted", null);
          say(
            n,
            `the interrupted promotion had moved main to ${short(intent.mergeCommit)}; recorded promoted`,
          );
          if (ports.primeKept) {
            await journal.write({
              op: "prime-restart",
              generation: n,
              mergeCommit: intent.mergeCommit,
              previous: intent.base,
            });
            unchecked = { generation: n, mergeCommit: intent.mergeCommit };
            return;
          }
        } else if (state.state === "not-moved") {
          say(
            n,
            `the interrupted promotion had not moved main; ${state.restored.length} file(s) of the checkout put back` +
              `${state.kept.length ? `, ${state.kept.length} changed by someone else kept (${state.kept.join(", ")})` : ""}` +
              "; the generation is still verifying and can be promoted again",
          );
        } else {
          say(
            n,
            `main is at ${state.main ? short(state.main) : "nothing"}, neither before nor after the interrupted promotion; left as it is`,
          );
        }
        break;
      }
      case "rollback": {
        await rollback({ repo, generation: n });
        if (current?.outcome === "verifying") await record(n, "rolled_back", intent.reason);
        say(n, "the interrupted rollback was completed");
        break;
      }
      case "archive": {
        await archive({ repo, generation: n });
        if (current?.outcome === "verifying") await record(n, "archived", intent.reason);
        say(n, "the interrupted archiving was completed");
        break;
      }
      case "prime-restart": {
        if (ports.primeKept && current?.outcome === "promoted") {
          unchecked = { generation: n, mergeCommit: intent.mergeCommit };
          say(n, "promoted, but its Prime was never checked; the Prime start checks it");
          return;
        }
        break;
      }
      case "revert": {
        const state = await recoverRevert(repo, intent);
        if (state === "reverted") {
          if (current?.outcome === "promoted") {
            await store.revertPromotion(n, intent.reason);
            emit({
              type: "generation",
              at: new Date().toISOString(),
              generation: n,
              outcome: "rolled_back",
              reason: intent.reason,
            });
          }
          say(
            n,
            `the interrupted revert was completed: main at ${short(intent.previous)}, tag gen-${n} dropped`,
          );
        } else {
          say(
            n,
            "main is at neither end of the interrupted revert; left as it is — reset main by hand if needed",
          );
        }
        break;
      }
    }
    await journal.remove(n);
  };

  for (const intent of await journal.list()) await settle(intent);

  // Without a journal (a Supervisor from before it), the tag is the proof a promotion landed.
  for (const r of await store.list()) {
    if (r.outcome !== "verifying") continue;
    const refs = await readRefs(repo, [MAIN_REF, tagRef(r.generation)]);
    const tag = refs.get(tagRef(r.generation))?.commit;
    const main = refs.get(MAIN_REF)?.commit;
    if (!tag || !main) continue;
    if ((await tryGit(repo, ["merge-base", "--is-ancestor", tag, main])).exitCode !== 0) continue;
    await record(r.generation, "promoted", null);
    say(r.generation, `tag gen-${r.generation} is on main; recorded promoted`);
  }
  return { actions, unchecked };
}
