/**
 * What the demo started, stopped in one fixed order whatever order it started in: first what uses
 * the others (the worker, then the web server), the sandbox, the upstream event receiver, the
 * queues and connections, and last the Redis and Postgres servers the demo started itself.
 */
export const stopOrder = ["worker", "web", "sandbox", "receiver", "queues", "redis", "postgres"] as const;
export type Part = (typeof stopOrder)[number];

interface Entry {
  label: string;
  stop(): Promise<void>;
  /** last resort at process exit: a synchronous signal to a child process */
  kill?(): void;
}

export class Lifecycle {
  private readonly entries = new Map<Part, Entry>();
  private stopping = false;
  private readonly late: Promise<void>[] = [];

  add(part: Part, entry: Entry): void {
    // Started while shutting down (a signal during start-up): stop it at once.
    if (this.stopping) this.late.push(entry.stop().catch(() => {}));
    else this.entries.set(part, entry);
  }

  /** Stops everything in stopOrder; a part that fails to stop does not keep the others running. Resolves true when all stopped cleanly. */
  async stop(say: (line: string) => void): Promise<boolean> {
    this.stopping = true;
    let clean = true;
    for (const part of stopOrder) {
      const entry = this.entries.get(part);
      if (!entry) continue;
      const started = Date.now();
      try {
        await entry.stop();
        this.entries.delete(part);
        say(`  stopped ${entry.label} (${Date.now() - started} ms)`);
      } catch (error) {
        clean = false;
        say(`  could not stop ${entry.label}: ${(error as Error).message}`);
      }
    }
    await Promise.all(this.late);
    return clean;
  }

  /** True while nothing is registered (start-up failed before anything started). */
  get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /** Signals every child server still running (synchronous: safe in an 'exit' handler). */
  killAll(): void {
    for (const entry of this.entries.values()) entry.kill?.();
  }
}
