import { describe, expect, it } from 'vitest';
import { formatMinor, MINOR_DIGITS } from '../../src/ledger/money.js';

describe('formatMinor', () => {
  it.each([
    [0n, '0.00'],
    [1n, '0.01'],
    [9n, '0.09'],
    [10n, '0.10'],
    [99n, '0.99'],
    [100n, '1.00'],
    [1234n, '12.34'],
    [100_000_00n, '100000.00'],
    [-1n, '-0.01'],
    [-99n, '-0.99'],
    [-100n, '-1.00'],
    [-1234n, '-12.34'],
  ])('USD %s minor units are "%s"', (minor, expected) => {
    expect(formatMinor(minor, 'USD')).toBe(expected);
  });

  it('uses two decimals for EUR and GBP', () => {
    expect(formatMinor(505n, 'EUR')).toBe('5.05');
    expect(formatMinor(-7n, 'GBP')).toBe('-0.07');
  });

  it.each([
    [0n, '0'],
    [5n, '5'],
    [1234n, '1234'],
    [-5n, '-5'],
    [-1234n, '-1234'],
  ])('JPY %s minor units are "%s" (no decimals)', (minor, expected) => {
    expect(formatMinor(minor, 'JPY')).toBe(expected);
  });

  it('is exact at the limits of a bigint column, where a float would round', () => {
    expect(formatMinor(9_223_372_036_854_775_807n, 'USD')).toBe('92233720368547758.07');
    expect(formatMinor(-9_223_372_036_854_775_808n, 'USD')).toBe('-92233720368547758.08');
    expect(formatMinor(9_007_199_254_740_993n, 'JPY')).toBe('9007199254740993');
  });

  it('knows the ISO 4217 exponent of every currency', () => {
    expect(MINOR_DIGITS).toEqual({ USD: 2, EUR: 2, GBP: 2, JPY: 0 });
  });
});
