/**
 * Money is an integer of minor units (bigint) plus a currency. This module is the one place that turns minor
 * units into the decimal strings clients see, with string arithmetic only: no float on the way.
 */
import type { Currency } from './db/schema.js';

/** ISO 4217 minor-unit exponents of the currencies Tally holds. */
export const MINOR_DIGITS: Record<Currency, number> = { USD: 2, EUR: 2, GBP: 2, JPY: 0 };

export function formatMinor(minor: bigint, currency: Currency): string {
  const digits = MINOR_DIGITS[currency];
  const negative = minor < 0n;
  const abs = (negative ? -minor : minor).toString();
  if (digits === 0) return (negative ? '-' : '') + abs;
  const padded = abs.padStart(digits + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}
