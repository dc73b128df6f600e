/**
 * Inserts many rows in one statement: the rows travel as one JSON parameter and Postgres spreads
 * them into the table's own column types (json_populate_recordset). Prisma's createMany binds one
 * parameter per value and measured ten times slower for wide rows (2,000 trainees: 1.6 s against
 * 0.15 s), which is what the cutover import and large batches need.
 *
 * Rows use the table's column names (snake_case). Columns left out of the first row are left to
 * their defaults; every row must carry the same columns.
 */
import type { Prisma } from "../generated/prisma/client.js";

const identifier = /^[a-z_][a-z0-9_]*$/;

export async function insertRows(tx: Prisma.TransactionClient, table: string, rows: Record<string, unknown>[]): Promise<number> {
  if (!rows.length) return 0;
  const columns = Object.keys(rows[0]!);
  for (const name of [table, ...columns]) if (!identifier.test(name)) throw new Error(`not a plain identifier: ${name}`);
  const list = columns.map((column) => `"${column}"`).join(", ");
  return tx.$executeRawUnsafe(
    `INSERT INTO "${table}" (${list}) SELECT ${list} FROM json_populate_recordset(NULL::"${table}", $1::json)`,
    // bigint ids travel as text, which Postgres reads into the bigint column
    JSON.stringify(rows, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)),
  );
}
