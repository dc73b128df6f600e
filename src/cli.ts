/**
 * Support commands: `npm run cli -- COMMAND`. Run `npm run cli -- help` for the list.
 */
import { loadConfigOrExit } from "./config.js";
import { createDeps } from "./deps.js";
import { parseDuration } from "./duration.js";
import { errorClasses } from "./jobs/classify.js";
import { hashPassword } from "./dashboard/auth.js";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { cancelTask, restartTrnPolling, resubmitForTrn, retryTask, SupportActionError } from "./trainees/support-actions.js";
import { importFromRegister } from "./trainees/import-from-register.js";
import { createQueues } from "./jobs/queues.js";
import { queueControl } from "./jobs/enqueue.js";
import { audited } from "./audit.js";

const usage = `usage: npm run cli -- COMMAND
  error-classes                 the table of error classes, with their remediation
  poll-trn SLUG [--for 4d] --actor NAME
                                restart polling for a trainee's TRN with a new deadline
  resubmit-trn SLUG --actor NAME
                                open a new TRN request for a trainee (new request id and deadline)
  retry TASK_ID --actor NAME    retry a failed job (and the failed jobs before it for that trainee)
  cancel TASK_ID --reason TEXT --actor NAME
                                cancel a failed job: it leaves the trainee's line, the work behind it runs
  import FILE                   cutover: store trainees exported from Register (JSON Lines), sending nothing
  hash-password [PASSWORD]      print a hash for DASHBOARD_USERS (reads stdin when no argument)

Support commands name the person acting (--actor, e.g. their dashboard name): the audit log and
the trainee's timeline say who did it, as they do for the dashboard's actions.`;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  const value = index >= 0 ? args[index + 1] : undefined;
  // `--actor --reason x` is a missing value, not an actor called "--reason"
  return value === undefined || value.startsWith("--") ? undefined : value;
}

/**
 * The person a support command acts for. A login name on a shared production box says nothing
 * about who ran it, so the CLI asks rather than guessing from $USER.
 */
function actorOf(args: string[]): string | undefined {
  const actor = option(args, "--actor")?.trim();
  return actor && actor.length <= 100 && !/[\u0000-\u001f\u007f]/.test(actor) ? actor : undefined;
}

/** The audit log's action names, shared with the dashboard's actions that do the same. */
const auditActions = {
  "poll-trn": "extend-trn-deadline",
  "resubmit-trn": "resubmit-for-trn",
  cancel: "cancel",
  retry: "retry",
} as const;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "error-classes": {
      for (const c of errorClasses) {
        console.log(`${c.name}  [${c.kind}]  ${c.title}\n    ${c.remediation}\n`);
      }
      return 0;
    }
    case "hash-password": {
      const password = rest[0] ?? (await readStdin());
      if (!password) {
        console.error("hash-password: give a password as argument or on stdin");
        return 2;
      }
      console.log(hashPassword(password));
      return 0;
    }
    case "import": {
      const file = rest[0];
      if (!file) {
        console.error("import takes a file of JSON Lines: npm run cli -- import FILE");
        return 2;
      }
      const deps = createDeps(loadConfigOrExit());
      try {
        const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
        const started = performance.now();
        const report = await importFromRegister({ db: deps.prisma, lines, now: deps.now(), trnPoll: deps.config.trnPoll });
        const seconds = (performance.now() - started) / 1000;
        for (const refused of report.refused) {
          const problems = Object.entries(refused.errors).map(([field, messages]) => `${field}: ${messages.join("; ")}`);
          console.log(`line ${refused.line}${refused.slug ? ` (${refused.slug})` : ""} refused: ${problems.join(" | ")}`);
        }
        console.log(
          `${report.read} read, ${report.imported} imported, ${report.unchanged} already imported, ${report.refused.length} refused; ` +
            `${report.polling} pending TRN requests go on being polled; ${Math.round(report.read / Math.max(seconds, 0.001))} lines/s`,
        );
        return report.refused.length ? 1 : 0;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          console.error(`import: no file ${file}`);
          return 2;
        }
        throw error;
      } finally {
        await deps.close();
      }
    }
    case "poll-trn":
    case "resubmit-trn":
    case "cancel":
    case "retry": {
      const target = rest[0];
      if (!target || target.startsWith("--")) {
        console.error(usage);
        return 2;
      }
      const actor = actorOf(rest);
      if (!actor) {
        console.error(`${command} needs --actor NAME: the person doing it, for the audit log (up to 100 characters)`);
        return 2;
      }
      // every argument checked before anything is opened or done
      const forMs = parseDuration(option(rest, "--for") ?? "4d");
      if (command === "poll-trn" && forMs === null) {
        console.error("--for takes a duration such as 4d or 36h");
        return 2;
      }
      const reason = option(rest, "--reason");
      if (command === "cancel" && (!/^\d+$/.test(target) || !reason)) {
        console.error('cancel takes a task id (a number) and --reason "why it must not be sent"');
        return 2;
      }
      if (command === "retry" && !/^\d+$/.test(target)) {
        console.error("retry takes a task id (a number)");
        return 2;
      }
      const deps = createDeps(loadConfigOrExit());
      const queues = createQueues(deps.redis, deps.config.redisPrefix);
      const queue = queueControl(queues);
      const db = deps.prisma;
      const now = deps.now();
      /** Recorded in the audit log like the dashboard's actions, whatever the outcome. */
      const audit = <T>(targets: string[], run: () => Promise<T>, summary: (result: T) => string) =>
        audited(db, { actor, action: auditActions[command], targets, details: { via: "cli" } }, run, summary);
      try {
        if (command === "poll-trn") {
          const result = await audit(
            [`trainee:${target}`],
            () => restartTrnPolling({ db, slug: target, forMs: forMs!, now, actor, queue }),
            (r) => `polling request ${r.requestId} until ${r.deadlineAt.toISOString()}`,
          );
          console.log(`polling request ${result.requestId} until ${result.deadlineAt.toISOString()}`);
        } else if (command === "resubmit-trn") {
          const result = await audit(
            [`trainee:${target}`],
            () => resubmitForTrn({ db, slug: target, now, trnPoll: deps.config.trnPoll, actor, queue }),
            (r) => `new TRN request ${r.requestId}, deadline ${r.deadlineAt.toISOString()}`,
          );
          console.log(`new TRN request ${result.requestId}, deadline ${result.deadlineAt.toISOString()}`);
        } else if (command === "cancel") {
          const { cancelled, next } = await audit(
            [`task:${target}`],
            () => cancelTask({ db, taskId: BigInt(target), reason: reason!, now, actor, queue }),
            (r) => `cancelled ${r.cancelled.kind} #${r.cancelled.id}: ${reason}`,
          );
          console.log(
            `cancelled ${cancelled.kind} #${cancelled.id}${next ? `; next in line: ${next.kind} #${next.id}` : "; nothing waits behind it"}`,
          );
        } else {
          const tasks = await audit(
            [`task:${target}`],
            () => retryTask({ db, taskId: BigInt(target), now, actor }),
            (r) => `will run again: ${r.map((t) => `${t.kind} #${t.id}`).join(", then ")}`,
          );
          console.log(`will run again, in this order: ${tasks.map((t) => `${t.kind} #${t.id}`).join(", ")}`);
        }
        return 0;
      } catch (error) {
        if (error instanceof SupportActionError) {
          console.error(error.message);
          return 1;
        }
        throw error;
      } finally {
        await queues.close();
        await deps.close();
      }
    }
    default:
      console.log(usage);
      return command === undefined || command === "help" ? 0 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
