import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { GenerationNumber } from "../../../schemas/generation.ts";
import { CommitSha } from "../../../schemas/supervisor.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { parseVersionedJson } from "../../shared/versioned-json.ts";
import { formatIssues } from "../../shared/zod-issues.ts";
import { StoreError } from "./store-error.ts";

const ObjectId = z.string().regex(/^[0-9a-f]{40,64}$/, "expected a full object id");
const base = { version: z.literal(1), generation: GenerationNumber, at: z.iso.datetime() };

/**
 * What the Supervisor is about to do to the repo and a record, written before the first change and
 * removed once the record says it happened. A Supervisor that starts and finds one finishes or undoes
 * that step (lifecycle/reconcile.ts), so a kill at any instant leaves nothing a person must repair.
 */
export const Intent = z.discriminatedUnion("op", [
  /** Main goes from `base` to `mergeCommit`, tag `gen-N` → `tagObject` is created, `lab/gen-N` deleted. */
  z.strictObject({
    ...base,
    op: z.literal("promote"),
    base: CommitSha,
    lab: CommitSha,
    mergeCommit: CommitSha,
    tagObject: ObjectId,
  }),
  /** `lab/gen-N` is deleted and the record goes verifying → rolled_back with `reason`. */
  z.strictObject({ ...base, op: z.literal("rollback"), reason: z.string().min(1) }),
  /** `lab/gen-N` moves to refs/loom/archive/gen-N and the record goes verifying → archived with `reason`. */
  z.strictObject({ ...base, op: z.literal("archive"), reason: z.string().min(1) }),
  /** Promoted and recorded; Prime on `mergeCommit` has yet to pass its health check. */
  z.strictObject({ ...base, op: z.literal("prime-restart"), mergeCommit: CommitSha, previous: CommitSha }),
  /** Prime on `mergeCommit` was unhealthy: main goes back to `previous`, the tag is dropped, the record rolled_back. */
  z.strictObject({
    ...base,
    op: z.literal("revert"),
    mergeCommit: CommitSha,
    previous: CommitSha,
    reason: z.string().min(1),
  }),
]);
export type Intent = z.infer<typeof Intent>;
/** An intent as callers give it: version and time are filled in. */
export type IntentInput = Intent extends infer I
  ? I extends Intent
    ? Omit<I, "version" | "at">
    : never
  : never;

const FILE = /^gen-([1-9][0-9]*)\.json$/;

/**
 * `<stateDir>/intents/gen-N.json`: at most one intent per generation (a promote becomes a
 * prime-restart, which may become a revert), each replaced atomically so a reader sees the old or the
 * new, never half.
 */
export class IntentJournal {
  private constructor(private readonly dir: string) {}

  static async open(stateDir: string): Promise<IntentJournal> {
    const dir = path.join(path.resolve(stateDir), "intents");
    await mkdir(dir, { recursive: true });
    return new IntentJournal(dir);
  }

  private fileOf(n: number): string {
    return path.join(this.dir, `gen-${n}.json`);
  }

  async write(input: IntentInput): Promise<Intent> {
    const parsed = Intent.safeParse({ version: 1, at: new Date().toISOString(), ...input });
    if (!parsed.success) {
      throw new StoreError(
        "RECORD_INVALID",
        `refusing to journal ${JSON.stringify(input.op)} for generation ${input.generation}: ${formatIssues(parsed.error)}`,
      );
    }
    try {
      await atomicWriteFile(this.fileOf(parsed.data.generation), `${JSON.stringify(parsed.data)}\n`);
    } catch (err) {
      // Written before anything else changes, so a failure here (a full disk) leaves all as it was.
      throw new StoreError(
        "STATE_WRITE_FAILED",
        `could not journal the ${input.op} of gen-${input.generation} in ${this.dir} (${(err as Error).message}); ` +
          "nothing was changed — free space in the state folder (LOOM_STATE_DIR) and try again",
        { cause: err },
      );
    }
    return parsed.data;
  }

  async remove(n: number): Promise<void> {
    await rm(this.fileOf(n), { force: true });
  }

  /** Every intent left, oldest generation first; a damaged file is an error naming it. */
  async list(): Promise<Intent[]> {
    const names = await readdir(this.dir);
    const numbers = names.flatMap((n) => {
      const m = FILE.exec(n);
      return m ? [Number(m[1])] : [];
    });
    const out: Intent[] = [];
    for (const n of numbers.sort((a, b) => a - b)) {
      const file = this.fileOf(n);
      const invalid = (why: string) =>
        new StoreError(
          "RECORD_CORRUPT",
          `intent ${file} is ${why}; it is written atomically, so something else changed it — move it away and check gen-${n} by hand`,
        );
      // Version 1 is the only one so far; the schema's literal refuses any other.
      const intent = parseVersionedJson(await readFile(file, "utf8"), {
        what: "intent",
        schema: Intent,
        upgrade: (raw) => raw,
        invalid,
      });
      if (intent.generation !== n) throw invalid(`an intent for generation ${intent.generation}, not ${n}`);
      out.push(intent);
    }
    return out;
  }
}
