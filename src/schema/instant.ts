import { badInput } from '../errors.js';

/**
 * The instants a client may send (DateTime arguments, cursor keys): years 1 to 9999 in UTC. PostgreSQL refuses
 * year 0, and beyond 9999 an ISO string needs the extended "+010000-" form it does not read; either would reach
 * the database as a failed query instead of a clear error here.
 */
export function storableInstant(date: Date | undefined, what: string, field?: string): Date {
  const year = date?.getUTCFullYear();
  if (!date || year === undefined || Number.isNaN(year) || year < 1 || year > 9999) {
    throw badInput(`${what} must be an instant between the years 1 and 9999.`, field);
  }
  return date;
}
