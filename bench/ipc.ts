/**
 * A tiny request/answer protocol over a child process's IPC channel, for the bench's children
 * (the sandbox, the workers): the parent asks, the child answers `{id, result}` or `{id, error}`.
 */
import type { ChildProcess } from "node:child_process";

type Handler = (command: string, argument: unknown) => unknown;

/** In a child: answers the parent's requests with `handle`. Does nothing without an IPC channel. */
export function serveParent(handle: Handler): void {
  if (!process.send) return;
  process.on("message", (message: { id?: number; command?: string; argument?: unknown }) => {
    if (typeof message?.id !== "number" || typeof message.command !== "string") return;
    Promise.resolve()
      .then(() => handle(message.command!, message.argument))
      .then(
        (result: unknown) => process.send?.({ id: message.id, result }),
        (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
      );
  });
}

/** In the parent: asks the child and waits for its answer. */
export function askChild<T>(child: ChildProcess, command: string, argument?: unknown): Promise<T> {
  const id = (askChild.next = (askChild.next ?? 0) + 1);
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { id?: number; result?: unknown; error?: string }) => {
      if (message?.id !== id) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      if (message.error !== undefined) reject(new Error(`${command}: ${message.error}`));
      else resolve(message.result as T);
    };
    const onExit = (code: number | null) => {
      child.off("message", onMessage);
      reject(new Error(`${command}: the child exited (${code})`));
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send({ id, command, argument });
  });
}
askChild.next = 0;
