import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const LOOM_BIN = fileURLToPath(new URL("../../bin/loom.js", import.meta.url));

/** Runs the real `loom` binary in a child process with a controlled environment. */
export async function loom(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
) {
  const result = await execa(process.execPath, [LOOM_BIN, ...args], {
    reject: false,
    cwd: opts.cwd,
    // Only what the test gives: a developer's own .env or keys must not leak into a test.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...opts.env },
    extendEnv: false,
    timeout: opts.timeoutMs ?? 60_000,
    stdin: "ignore",
  });
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
