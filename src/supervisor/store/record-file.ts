import { GenerationRecord } from "../../../schemas/generation-record.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { readVersionedJson } from "../../shared/versioned-json.ts";
import { formatIssues } from "../../shared/zod-issues.ts";
import { migrate } from "./migrate.ts";
import { StoreError } from "./store-error.ts";

/** Validates before writing, so an invalid record never reaches the disk. */
export async function writeRecord(file: string, record: unknown): Promise<GenerationRecord> {
  const parsed = GenerationRecord.safeParse(record);
  if (!parsed.success) {
    throw new StoreError(
      "RECORD_INVALID",
      `refusing to write ${file}: not a valid generation record: ${formatIssues(parsed.error)}`,
    );
  }
  await atomicWriteFile(file, `${JSON.stringify(parsed.data, null, 2)}\n`);
  return parsed.data;
}

/**
 * Reads, migrates and validates one record file; undefined only when the file does not exist.
 * Anything damaged is an error naming the file: a lineage with silent gaps would teach wrong lessons.
 */
export async function readRecord(file: string, generation: number): Promise<GenerationRecord | undefined> {
  const record = await readVersionedJson(file, {
    what: "generation record",
    schema: GenerationRecord,
    upgrade: (raw) => migrate(raw, `generation record ${file}`),
    invalid: (why) =>
      new StoreError(
        "RECORD_CORRUPT",
        `generation record ${file} is ${why}; restore it or move it out of the generations folder`,
      ),
  });
  if (record && record.generation !== generation) {
    throw new StoreError(
      "RECORD_CORRUPT",
      `generation record ${file} holds generation ${record.generation}; expected ${generation}`,
    );
  }
  return record;
}
