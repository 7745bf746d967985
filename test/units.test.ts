import { describe, expect, it } from 'vitest';
import { formatDuration, parseBytes, parseDurationMs, parsePercent } from '../src/core/units.ts';

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['0s', 0],
    ['1m0.5s', 60_500],
  ])('%s → %d ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(['', '5', '-5s', '5 s', 's', '5x', '1m30', `${'9'.repeat(400)}d`])('rejects %j', (text) =>
    expect(parseDurationMs(text)).toBeUndefined(),
  );
});

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [120_000, '2m'],
  ])('%d ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('parsePercent', () => {
  it('reads percentages and fractions', () => {
    expect(parsePercent('99.9%')).toBeCloseTo(0.999, 9);
    expect(parsePercent(0.5)).toBe(0.5);
    expect(parsePercent('0.25')).toBe(0.25);
  });
  it('rejects values outside 0..1 and junk', () => {
    expect(parsePercent(2)).toBeUndefined();
    expect(parsePercent('150%')).toBeUndefined();
    expect(parsePercent('100.01%')).toBeUndefined();
    expect(parsePercent('100%')).toBe(1);
    expect(parsePercent('abc')).toBeUndefined();
    expect(parsePercent('')).toBeUndefined();
  });
});

describe('parseBytes', () => {
  it('reads binary and decimal units', () => {
    expect(parseBytes('512MiB')).toBe(512 * 1024 * 1024);
    expect(parseBytes('2GB')).toBe(2e9);
    expect(parseBytes(1024)).toBe(1024);
    expect(parseBytes('12 parsecs')).toBeUndefined();
  });
});
