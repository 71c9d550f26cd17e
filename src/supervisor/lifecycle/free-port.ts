import { readFileSync } from "node:fs";
import net from "node:net";

/** Where ports are drawn from when the kernel's ephemeral range is known: above the usual services. */
const FLOOR = 20_000;

/**
 * The first port of the kernel's ephemeral range (Linux), or undefined elsewhere. Ports handed out
 * for `listen(0)` and outgoing connections come from that range.
 */
function ephemeralLow(): number | undefined {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

/** [from, to) to draw from, or undefined to let the kernel pick (port 0); read on first use, not at import. */
let draw: readonly [number, number] | undefined | null = null;
function drawRange(): readonly [number, number] | undefined {
  if (draw === null) {
    const below = ephemeralLow();
    draw = below !== undefined && below - FLOOR >= 1000 ? [FLOOR, below] : undefined;
  }
  return draw;
}

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : undefined));
    });
  });
}

/**
 * A port nothing listens on right now, skipping ones already handed out: Labs on the host network
 * share its ports, so two must never get the same one. Also used for a URL where nothing answers.
 *
 * On Linux the port is drawn below the kernel's ephemeral range, so no socket that anything opens on
 * port 0 (or connects out from) can be handed it between this probe and the Lab's listen — a race
 * seen in CI when the probe itself listened on port 0.
 */
export async function freePort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const range = drawRange();
    const wanted = range ? range[0] + Math.floor(Math.random() * (range[1] - range[0])) : 0;
    const port = await probe(wanted);
    if (port !== undefined && port > 0 && !taken.has(port)) return port;
  }
  throw new Error("no free port found on 127.0.0.1 after 50 attempts");
}
