import { rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { LoomError } from "../shared/errors.ts";
import { type ClaimAnswer, type LabClaim, MAX_CLAIM_BYTES, parseClaim } from "../shared/lab-claim.ts";
import { listenForSupervisor } from "./listen-socket.ts";

/**
 * A pooled Lab's wait (see shared/lab-claim.ts): serves `socketPath` until one valid claim arrives,
 * answers it, closes the socket and resolves with it. A connection that sends nothing (the pool's
 * readiness probe) or a bad line (answered with the error) changes nothing; the first valid claim wins.
 */
export async function awaitClaim(socketPath: string): Promise<LabClaim> {
  const open = new Set<Socket>();
  let claimed: (claim: LabClaim) => void = () => {};
  const claim = new Promise<LabClaim>((resolve) => {
    claimed = resolve;
  });
  let taken = false;
  const server = createServer((conn) => {
    open.add(conn);
    conn.on("close", () => open.delete(conn));
    conn.on("error", () => conn.destroy());
    conn.setEncoding("utf8");
    let buffer = "";
    const answer = (a: ClaimAnswer) => conn.end(`${JSON.stringify(a)}\n`);
    conn.on("data", (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf("\n");
      if (end < 0) {
        if (buffer.length > MAX_CLAIM_BYTES) answer({ ok: false, error: "a claim line is at most 64 KiB" });
        return;
      }
      const parsed = parseClaim(buffer.slice(0, end));
      buffer = "";
      if (!parsed.ok) return answer({ ok: false, error: parsed.error });
      if (taken) return answer({ ok: false, error: "this Lab is already claimed" });
      taken = true;
      answer({ ok: true });
      claimed(parsed.claim);
    });
  });
  await listenForSupervisor(server, socketPath).catch((err: NodeJS.ErrnoException) => {
    throw new LoomError(
      "LAB_STANDBY",
      `cannot wait for a claim on ${socketPath} (${err.code ?? err.message}); --socket names a unix socket in a folder this user can write`,
    );
  });
  const got = await claim;
  // No new connection is accepted; the answered one ends by itself (a probe's too).
  server.close();
  for (const c of open) c.setTimeout(1000, () => c.destroy());
  await rm(socketPath, { force: true });
  return got;
}
