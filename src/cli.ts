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

const usage = `usage: npm run cli -- COMMAND
  error-classes                 the table of error classes, with their remediation
  poll-trn SLUG [--for 4d]      restart polling for a trainee's TRN with a new deadline
  resubmit-trn SLUG             open a new TRN request for a trainee (new request id and deadline)
  retry TASK_ID                 retry a failed job (and the failed jobs before it for that trainee)
  cancel TASK_ID --reason TEXT  cancel a failed job: it leaves the trainee's line, the work behind it runs
  import FILE                   cutover: store trainees exported from Register (JSON Lines), sending nothing
  hash-password [PASSWORD]      print a hash for DASHBOARD_USERS (reads stdin when no argument)`;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

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
      if (!target) {
        console.error(usage);
        return 2;
      }
      const deps = createDeps(loadConfigOrExit());
      const queues = createQueues(deps.redis, deps.config.redisPrefix);
      const queue = queueControl(queues);
      const actor = `cli:${process.env.USER ?? "unknown"}`;
      try {
        if (command === "poll-trn") {
          const forMs = parseDuration(option(rest, "--for") ?? "4d");
          if (forMs === null) {
            console.error("--for takes a duration such as 4d or 36h");
            return 2;
          }
          const result = await restartTrnPolling({ db: deps.prisma, slug: target, forMs, now: deps.now(), actor, queue });
          console.log(`polling request ${result.requestId} until ${result.deadlineAt.toISOString()}`);
        } else if (command === "resubmit-trn") {
          const result = await resubmitForTrn({
            db: deps.prisma,
            slug: target,
            now: deps.now(),
            trnPoll: deps.config.trnPoll,
            actor,
            queue,
          });
          console.log(`new TRN request ${result.requestId}, deadline ${result.deadlineAt.toISOString()}`);
        } else if (command === "cancel") {
          const reason = option(rest, "--reason");
          if (!/^\d+$/.test(target) || !reason) {
            console.error('cancel takes a task id (a number) and --reason "why it must not be sent"');
            return 2;
          }
          const { cancelled, next } = await cancelTask({ db: deps.prisma, taskId: BigInt(target), reason, now: deps.now(), actor, queue });
          console.log(
            `cancelled ${cancelled.kind} #${cancelled.id}${next ? `; next in line: ${next.kind} #${next.id}` : "; nothing waits behind it"}`,
          );
        } else {
          if (!/^\d+$/.test(target)) {
            console.error("retry takes a task id (a number)");
            return 2;
          }
          const tasks = await retryTask({ db: deps.prisma, taskId: BigInt(target), now: deps.now(), actor });
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
