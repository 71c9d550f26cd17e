import { mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { GenerationRecord } from "../../../schemas/generation-record.ts";
import { Candidate } from "../../../schemas/round.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { KeyedQueue } from "../../shared/keyed-queue.ts";
import { formatIssues } from "../../shared/zod-issues.ts";
import { appendLineage, type LineageEvent, readLineage } from "./lineage-log.ts";
import { readRecord, writeRecord } from "./record-file.ts";
import { StoreError } from "./store-error.ts";
import { allowedFrom, canTransition, isTerminal, PROMOTION_REVERT } from "./transitions.ts";

/** The fields a running generation may change; identity fields (number, branch, parent...) never do. */
const fields = GenerationRecord.shape;
export const GenerationPatch = z
  .strictObject({
    outcome: fields.outcome,
    reason: fields.reason,
    /** Only while pending: a candidate whose drawn parent failed its full verification builds on main. */
    parent: fields.parent,
    finishedAt: fields.finishedAt,
    containerId: fields.containerId,
    tokens: fields.tokens,
    modelUsage: fields.modelUsage,
    fitness: fields.fitness,
    verification: fields.verification,
    verificationRun: fields.verificationRun,
  })
  .partial();
export type GenerationPatch = z.infer<typeof GenerationPatch>;

export interface AllocateInput {
  readonly programHash: string;
  /** The promoted generation this one builds on; null before any promotion. */
  readonly parent: number | null;
}

export interface AllocateRoundInput extends AllocateInput {
  /** One per candidate, in index order (index 1..of). */
  readonly candidates: readonly Candidate[];
  /** Each candidate's parent, in index order, when they differ (an archive draw); absent: `parent` for all. */
  readonly parents?: readonly (number | null)[];
}

const RECORD_NAME = /^gen-([1-9][0-9]*)\.json$/;
const ZERO_USAGE = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

/** One queue per state dir, so two stores opened on the same folder still never race. */
const queue = new KeyedQueue();
const serialized = <T>(key: string, task: () => Promise<T>): Promise<T> => queue.run(key, task);

function checkGeneration(n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new StoreError(
      "INVALID_GENERATION",
      `generation ${String(n)} is not accepted; expected an integer ≥ 1`,
    );
  }
  return n;
}

/**
 * The Supervisor's generation records: `<stateDir>/generations/gen-N.json` (atomic, validated on write
 * and read), a `next-generation` counter so numbers are never reused, and the append-only
 * `<stateDir>/lineage.jsonl` audit trail of every state change.
 */
export class GenerationStore {
  private constructor(
    readonly stateDir: string,
    private readonly dir: string,
  ) {}

  static async open(stateDir: string): Promise<GenerationStore> {
    if (typeof stateDir !== "string" || stateDir.trim() === "") {
      throw new StoreError("INVALID_INPUT", "stateDir is empty; pass the Supervisor's state folder");
    }
    const root = path.resolve(stateDir);
    const dir = path.join(root, "generations");
    await mkdir(dir, { recursive: true });
    return new GenerationStore(root, dir);
  }

  get lineageFile(): string {
    return path.join(this.stateDir, "lineage.jsonl");
  }

  private get counterFile(): string {
    return path.join(this.stateDir, "next-generation");
  }

  private get roundCounterFile(): string {
    return path.join(this.stateDir, "next-round");
  }

  private fileOf(n: number): string {
    return path.join(this.dir, `gen-${n}.json`);
  }

  /** Creates the next generation as `pending`; numbers only grow, across restarts and deletions. */
  allocate(input: AllocateInput): Promise<GenerationRecord> {
    return serialized(this.stateDir, () => this.allocateNow(input));
  }

  /**
   * Starts a round: the next round number and one `pending` generation per candidate, numbered in a
   * row. Round numbers, like generation numbers, only grow (`next-round`, and above any on disk).
   */
  allocateRound(input: AllocateRoundInput): Promise<{ round: number; records: GenerationRecord[] }> {
    return serialized(this.stateDir, async () => {
      // Every candidate is checked before anything is written, so a bad one leaves no half a round.
      if (input.candidates.length === 0)
        throw new StoreError("INVALID_INPUT", "a round needs at least one candidate");
      input.candidates.forEach((c, i) => {
        const checked = Candidate.safeParse(c);
        const problem = checked.success
          ? c.index !== i + 1 || c.of !== input.candidates.length
            ? `candidate ${i + 1} is given as ${c.index} of ${c.of}`
            : undefined
          : formatIssues(checked.error);
        if (problem)
          throw new StoreError(
            "RECORD_INVALID",
            `cannot allocate candidate ${i + 1} of the round: ${problem}`,
          );
      });
      const round = Math.max(
        await this.readCounter(this.roundCounterFile, "round"),
        (await this.maxRoundOnDisk()) + 1,
      );
      await atomicWriteFile(this.roundCounterFile, `${round + 1}\n`);
      const records: GenerationRecord[] = [];
      for (const [i, candidate] of input.candidates.entries()) {
        const parent = input.parents?.[i] ?? input.parent;
        records.push(await this.allocateNow({ ...input, parent, round, candidate }));
      }
      return { round, records };
    });
  }

  private async allocateNow(
    input: AllocateInput & { round?: number; candidate?: Candidate },
  ): Promise<GenerationRecord> {
    const n = Math.max(await this.readCounter(this.counterFile, "generation"), (await this.maxOnDisk()) + 1);
    const record = {
      version: 1,
      generation: n,
      parent: input.parent,
      ...(input.round === undefined ? {} : { round: input.round }),
      ...(input.candidate === undefined ? {} : { candidate: input.candidate }),
      branch: `lab/gen-${n}`,
      programHash: input.programHash,
      outcome: "pending",
      reason: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
      containerId: null,
      tokens: ZERO_USAGE,
      fitness: null,
      verification: null,
    };
    // Validate before spending the number, so bad input does not burn generations.
    const parsed = GenerationRecord.safeParse(record);
    if (!parsed.success) {
      throw new StoreError(
        "RECORD_INVALID",
        `cannot allocate generation ${n}: ${formatIssues(parsed.error)}`,
      );
    }
    // Counter first: a crash after it skips N, which is harmless; reusing N would not be.
    await atomicWriteFile(this.counterFile, `${n + 1}\n`);
    const written = await writeRecord(this.fileOf(n), parsed.data);
    await this.log(written);
    return written;
  }

  async get(n: number): Promise<GenerationRecord | undefined> {
    const g = checkGeneration(n);
    return readRecord(this.fileOf(g), g);
  }

  /** Every record, by generation number; a damaged file fails the whole listing, naming the file. */
  async list(): Promise<GenerationRecord[]> {
    const numbers = (await this.numbersOnDisk()).sort((a, b) => a - b);
    const records = await Promise.all(numbers.map((n) => readRecord(this.fileOf(n), n)));
    return records.filter((r): r is GenerationRecord => r !== undefined);
  }

  /** Applies a patch; the result must be a valid record reached by a legal transition. */
  async update(n: number, patch: GenerationPatch): Promise<GenerationRecord> {
    const g = checkGeneration(n);
    return serialized(this.stateDir, async () => {
      const parsedPatch = GenerationPatch.safeParse(patch);
      if (!parsedPatch.success) {
        throw new StoreError(
          "RECORD_INVALID",
          `patch for generation ${g} is not accepted (patchable: ${Object.keys(GenerationPatch.shape).join(", ")}): ` +
            formatIssues(parsedPatch.error),
        );
      }
      const current = await readRecord(this.fileOf(g), g);
      if (!current) throw new StoreError("NOT_FOUND", `generation ${g} does not exist in ${this.dir}`);
      const next = { ...current, ...parsedPatch.data };
      if (isTerminal(current.outcome)) {
        throw new StoreError(
          "ILLEGAL_TRANSITION",
          `generation ${g} is ${current.outcome}, which is final; a finished generation cannot be changed`,
        );
      }
      if (!canTransition(current.outcome, next.outcome)) {
        throw new StoreError(
          "ILLEGAL_TRANSITION",
          `generation ${g} cannot go from ${current.outcome} to ${next.outcome}; ` +
            `allowed: ${allowedFrom(current.outcome).join(", ")}`,
        );
      }
      if (isTerminal(next.outcome) && next.finishedAt === null) next.finishedAt = new Date().toISOString();
      const written = await writeRecord(this.fileOf(g), next);
      if (written.outcome !== current.outcome) await this.log(written);
      return written;
    });
  }

  /**
   * Undoes a promotion in the record: promoted → rolled_back with the reason (PROMOTION_REVERT), for a
   * generation whose promotion was reverted because Prime on the new main was unhealthy. The caller
   * has already moved main back and dropped the tag; any other outcome is refused.
   */
  async revertPromotion(n: number, reason: string): Promise<GenerationRecord> {
    const g = checkGeneration(n);
    return serialized(this.stateDir, async () => {
      if (typeof reason !== "string" || reason.trim() === "") {
        throw new StoreError(
          "INVALID_INPUT",
          `reverting generation ${g} needs a reason; pass why it was undone`,
        );
      }
      const current = await readRecord(this.fileOf(g), g);
      if (!current) throw new StoreError("NOT_FOUND", `generation ${g} does not exist in ${this.dir}`);
      if (current.outcome !== PROMOTION_REVERT.from) {
        throw new StoreError(
          "ILLEGAL_TRANSITION",
          `generation ${g} is ${current.outcome}; only a promoted generation can have its promotion reverted`,
        );
      }
      const written = await writeRecord(this.fileOf(g), {
        ...current,
        outcome: PROMOTION_REVERT.to,
        reason,
        finishedAt: new Date().toISOString(),
      });
      await this.log(written);
      return written;
    });
  }

  /** Records not yet finished: after a restart, their Labs are gone and they need reaping. */
  async inProgress(): Promise<GenerationRecord[]> {
    return (await this.list()).filter((r) => !isTerminal(r.outcome));
  }

  async latestPromoted(): Promise<GenerationRecord | undefined> {
    return (await this.list()).filter((r) => r.outcome === "promoted").at(-1);
  }

  /** The audit trail, oldest first. */
  lineage(): Promise<LineageEvent[]> {
    return readLineage(this.lineageFile);
  }

  private async log(record: GenerationRecord): Promise<void> {
    await appendLineage(this.lineageFile, {
      version: 1,
      at: new Date().toISOString(),
      generation: record.generation,
      outcome: record.outcome,
      reason: record.reason,
    });
  }

  private async numbersOnDisk(): Promise<number[]> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    return names.flatMap((name) => {
      const m = RECORD_NAME.exec(name);
      return m ? [Number(m[1])] : [];
    });
  }

  private async maxOnDisk(): Promise<number> {
    return Math.max(0, ...(await this.numbersOnDisk()));
  }

  /** The highest round any readable record names (0 when none); a damaged record is skipped here. */
  private async maxRoundOnDisk(): Promise<number> {
    let max = 0;
    for (const n of await this.numbersOnDisk()) {
      const record = await readRecord(this.fileOf(n), n).catch(() => undefined);
      max = Math.max(max, record?.round ?? 0);
    }
    return max;
  }

  private async readCounter(file: string, what: "generation" | "round"): Promise<number> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 1;
      throw err;
    }
    const value = Number(text.trim());
    if (!/^[1-9][0-9]*$/.test(text.trim()) || !Number.isSafeInteger(value)) {
      throw new StoreError(
        "COUNTER_CORRUPT",
        `${file} holds ${JSON.stringify(text.slice(0, 40))}; expected the next ${what} number ` +
          `(an integer ≥ 1) — set it above the highest ${what} ever allocated`,
      );
    }
    return value;
  }
}
