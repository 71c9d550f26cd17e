import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Container Labs run as their image's own unprivileged user, not the Supervisor's: the workspace clone
 * must be writable by it. The workspace is private to one generation under the state dir.
 */
export async function shareWorkspace(workspace: string): Promise<void> {
  await run("chmod", ["-R", "a+rwX", workspace], { timeout: 60_000 });
}
