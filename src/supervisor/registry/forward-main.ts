// `node --import tsx src/supervisor/registry/forward-main.ts LISTEN TARGET`: forwards connections from
// LISTEN to TARGET (each 127.x.y.z:PORT or an absolute unix socket path) until SIGTERM or SIGINT; prints
// "forwarding LISTEN -> TARGET" once listening. Run inside a node's network namespace with `ip netns exec`.
import { forwardConnections, parseEndpoint, showEndpoint } from "./forward.ts";

const [listenText = "", targetText = ""] = process.argv.slice(2);
const listen = parseEndpoint(listenText);
const target = parseEndpoint(targetText);
if (!listen || !target) {
  process.stderr.write(
    `forward: expected LISTEN TARGET, each a loopback address 127.x.y.z:PORT or an absolute socket path (got "${listenText}" "${targetText}")\n`,
  );
  process.exit(2);
}
const forwarder = await forwardConnections(listen, target);
process.stdout.write(`forwarding ${showEndpoint(listen)} -> ${showEndpoint(target)}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => void forwarder.close().then(() => process.exit(0)));
}
