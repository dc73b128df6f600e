import nock from "nock";
import { afterAll } from "vitest";

// Outbound HTTP goes to nock or to servers on this machine, never elsewhere.
nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);

const servicePorts = new Set([5432, 6379]);

function openServiceSockets(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .filter((h): h is { remotePort: number; destroyed: boolean } => typeof (h as { remotePort?: unknown }).remotePort === "number")
    .filter((socket) => servicePorts.has(socket.remotePort) && !socket.destroyed)
    .map((socket) => `connection to port ${socket.remotePort}`);
}

// Registered before the file's own hooks, so it runs after them: a test file that leaves a worker,
// queue or database connection open fails here.
afterAll(async () => {
  nock.cleanAll();
  let open = openServiceSockets();
  for (let i = 0; i < 40 && open.length; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    open = openServiceSockets();
  }
  if (open.length) throw new Error(`test file left ${open.length} open: ${open.join(", ")}`);
});
