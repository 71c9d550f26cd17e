import { readFile } from "node:fs/promises";
import { LoomError } from "../errors.ts";
import { parseScript, type Script } from "./script.ts";

/** Reads a JSON model script (an array of turns), e.g. for `loom demo`. */
export async function scriptFromFile(path: string): Promise<Script> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error);
    throw new LoomError("SCRIPT_INVALID", `cannot read model script ${path}: ${reason}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LoomError(
      "SCRIPT_INVALID",
      `model script ${path} is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const parsed = parseScript(value);
  if (!parsed.ok) {
    throw new LoomError(
      "SCRIPT_INVALID",
      `model script ${path} is invalid: ${parsed.problems.join("; ")} ` +
        "(expected a JSON array of turns: {text} | {tool, input} | {tools} | {content} | {fault, …})",
    );
  }
  return parsed.script;
}
