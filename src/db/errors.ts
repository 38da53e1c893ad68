/**
 * Reading a failed statement's PostgreSQL error. drizzle wraps the driver's error (pg's or PGlite's) as `cause`;
 * errors raised outside a query (a failed COMMIT) may come unwrapped. Both carry the SQLSTATE as `code`.
 */
interface DriverError {
  readonly code?: unknown;
  readonly constraint?: unknown;
  readonly message?: unknown;
}

const driverError = (error: unknown): DriverError => {
  const wrapped = error as (DriverError & { cause?: DriverError }) | null;
  return wrapped?.cause ?? wrapped ?? {};
};

/** The SQLSTATE of a failed statement, such as "40P01" for a deadlock. */
export function sqlStateOf(error: unknown): string | undefined {
  const { code } = driverError(error);
  return typeof code === 'string' ? code : undefined;
}

/** For a unique violation (23505), the index or constraint it hit, as the error names it; otherwise undefined. */
export function violatedUniqueIndex(error: unknown): string | undefined {
  const failed = driverError(error);
  if (failed.code !== '23505') return undefined;
  if (typeof failed.constraint === 'string') return failed.constraint;
  return typeof failed.message === 'string' ? /unique constraint "([^"]+)"/.exec(failed.message)?.[1] : undefined;
}
