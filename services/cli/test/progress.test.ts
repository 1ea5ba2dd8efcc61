import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { totalLagLine } from '../src/commands/groups.js';
import { PROGRESS_INTERVAL_MS, progressLine } from '../src/progress.js';

function stream(tty: boolean): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  if (tty) Object.assign(out, { isTTY: true });
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('progress on stderr', () => {
  it('redraws a count on a terminal, at most once per interval, and erases it', () => {
    const err = stream(true);
    let nowMs = 0;
    const progress = progressLine(err.out, 'produced', undefined, () => nowMs);
    progress.update(10);
    nowMs += PROGRESS_INTERVAL_MS;
    progress.update(2000);
    progress.update(3000);
    progress.clear();
    expect(err.text()).toBe('\r\x1b[Kproduced 2000 records...\r\x1b[K');
  });

  it('writes nothing when stderr is a pipe, or when the records go to the same terminal', () => {
    for (const [errTty, recordsTty] of [[false, false], [true, true]] as const) {
      const err = stream(errTty);
      let nowMs = 0;
      const progress = progressLine(err.out, 'consumed', stream(recordsTty).out, () => nowMs);
      nowMs += 10 * PROGRESS_INTERVAL_MS;
      progress.update(5);
      progress.clear();
      expect(err.text()).toBe('');
    }
  });
});

describe('total lag', () => {
  it('is unknown, not 0, when nothing was committed', () => {
    expect(totalLagLine([{ lag: null }, { lag: null }])).toBe('total lag - (nothing committed)');
    expect(totalLagLine([])).toBe('total lag - (nothing committed)');
    expect(totalLagLine([{ lag: 3 }, { lag: 0 }])).toBe('total lag 3');
  });
});
