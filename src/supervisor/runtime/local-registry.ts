import { promises as fs } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { atomicWriteFile } from "../../shared/atomic-write.ts";

/**
 * The `local` backend's memory across supervisor restarts: one directory per container under the
 * state dir, holding its record (pid + start time, labels, endpoints, exit), its log and its HOME.
 * One file per container rather than one shared file: no lock, no lost update between writers.
 */

export const LocalRecord = z.object({
  version: z.literal(1),
  id: z.string(),
  name: z.string(),
  pid: z.number().int(),
  /** From /proc (or ps): with pid, identifies the process across pid reuse. */
  startTime: z.string(),
  labels: z.record(z.string(), z.string()),
  image: z.string(),
  command: z.array(z.string()),
  cwd: z.string(),
  sandbox: z.enum(["bwrap", "none"]),
  startedAt: z.string(),
  endpoints: z.array(z.object({ containerPort: z.number(), host: z.string(), port: z.number() })),
  exitCode: z.number().int().optional(),
  finishedAt: z.string().optional(),
});
export type LocalRecord = z.infer<typeof LocalRecord>;

const ID = /^[a-f0-9]{12}$/;

export class LocalRegistry {
  readonly root: string;
  constructor(stateDir: string) {
    this.root = path.join(stateDir, "runtime-local");
  }

  dirOf(id: string): string {
    return path.join(this.root, id);
  }
  logOf(id: string): string {
    return path.join(this.root, id, "output.log");
  }
  homeOf(id: string): string {
    return path.join(this.root, id, "home");
  }

  /** Ids look like ours, so a caller-supplied id can never point outside the registry. */
  isId(id: string): boolean {
    return ID.test(id);
  }

  async create(id: string): Promise<void> {
    await fs.mkdir(this.homeOf(id), { recursive: true });
  }

  async write(record: LocalRecord): Promise<void> {
    await atomicWriteFile(
      path.join(this.dirOf(record.id), "record.json"),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }

  /** Undefined when missing; a record that does not parse is reported through onBad and skipped. */
  async read(id: string, onBad?: (message: string) => void): Promise<LocalRecord | undefined> {
    if (!this.isId(id)) return undefined;
    const text = await fs.readFile(path.join(this.dirOf(id), "record.json"), "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return LocalRecord.parse(JSON.parse(text));
    } catch (err) {
      onBad?.(
        `local runtime: ignoring unreadable record for ${id}: ${err instanceof Error ? err.message : err}`,
      );
      return undefined;
    }
  }

  async ids(): Promise<string[]> {
    const names = await fs.readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => ID.test(n));
  }

  async delete(id: string): Promise<void> {
    if (this.isId(id)) await fs.rm(this.dirOf(id), { recursive: true, force: true });
  }
}
