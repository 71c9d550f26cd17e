import { StoreError } from "./store-error.ts";

/** The record version this Loom writes; reads migrate older records up to it, step by step. */
export const CURRENT_RECORD_VERSION = 1;

type Step = (raw: Record<string, unknown>) => Record<string, unknown>;

/** STEPS[v] turns a version-v record into a version-(v+1) one. Empty while only v1 exists. */
const STEPS: Readonly<Record<number, Step>> = {};

/**
 * Brings a parsed record from whatever version it was written at to CURRENT_RECORD_VERSION, so the
 * schema only ever sees current records. `source` names the file in error messages.
 */
export function migrate(raw: unknown, source = "record"): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new StoreError("RECORD_INVALID", `${source} is not a JSON object; expected a generation record`);
  }
  let record = raw as Record<string, unknown>;
  const version = record.version;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw new StoreError(
      "RECORD_INVALID",
      `${source} has version ${JSON.stringify(version)}; expected an integer from 1 to ${CURRENT_RECORD_VERSION}`,
    );
  }
  if (version > CURRENT_RECORD_VERSION) {
    throw new StoreError(
      "RECORD_VERSION_UNSUPPORTED",
      `${source} has version ${version} but this Loom reads versions up to ${CURRENT_RECORD_VERSION}; ` +
        "it was written by a newer Loom — upgrade Loom to read it",
    );
  }
  for (let v = version; v < CURRENT_RECORD_VERSION; v++) {
    const step = STEPS[v];
    if (!step)
      throw new StoreError("RECORD_VERSION_UNSUPPORTED", `no migration from version ${v} for ${source}`);
    record = { ...step(record), version: v + 1 };
  }
  return record;
}
