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

/** The same for a folder a container only reads (Prime's checkout of main): readable, not writable. */
export async function shareReadable(dir: string): Promise<void> {
  await run("chmod", ["-R", "a+rX", dir], { timeout: 60_000 });
}
