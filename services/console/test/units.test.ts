// The console's pure parts: reading /metrics, rendering record bytes, hash routes. Typechecked with
// the console (DOM types, services/console/tsconfig.json), not with the Node tests.

import { describe, expect, it } from 'vitest';
import { render } from '../src/codec.js';
import { parseMetrics, sumOf } from '../src/metrics.js';
import { href, parseHash } from '../src/route.js';

const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

describe('parseMetrics', () => {
  it('reads samples with labels (escaped quotes too) and sums what matches', () => {
    const samples = parseMetrics(
      [
        '# HELP strata_tier_uploads_total Segment uploads',
        '# TYPE strata_tier_uploads_total counter',
        'strata_tier_uploads_total{result="ok"} 7',
        'strata_tier_uploads_total{result="error"} 2',
        'strata_produce_records_total 41',
        'strata_odd{name="a \\"quoted\\" b"} 1',
        'strata_nan NaN',
      ].join('\n'),
    );
    expect(sumOf(samples, 'strata_tier_uploads_total')).toBe(9);
    expect(sumOf(samples, 'strata_tier_uploads_total', { result: 'error' })).toBe(2);
    expect(sumOf(samples, 'strata_produce_records_total')).toBe(41);
    expect(sumOf(samples, 'strata_missing')).toBe(0);
    expect(sumOf(samples, 'strata_nan')).toBe(0);
    expect(samples.find((s) => s.name === 'strata_odd')?.labels.name).toBe('a "quoted" b');
  });
});

describe('render', () => {
  it('shows bytes as text, pretty JSON or hex, and says when a value is not JSON', () => {
    expect(render(b64('{"a":[1]}'), 'json')).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(render(b64('plain'), 'json')).toBe('plain\n(not JSON)');
    expect(render(b64('hé'), 'text')).toBe('hé');
    expect(render(b64('AB'), 'hex')).toBe('41 42');
    expect(render(null, 'text')).toBe('null');
  });

  it('cuts a long hex dump and says how long the value is', () => {
    const shown = render(btoa('\u0001'.repeat(5000)), 'hex');
    expect(shown.endsWith('… (5000 bytes)')).toBe(true);
  });
});

describe('routes', () => {
  it('round-trips names that need escaping', () => {
    const link = href(['topics', 'a/b c'], { q: 'x&y', page: undefined });
    expect(link).toBe('#/topics/a%2Fb%20c?q=x%26y');
    const route = parseHash(link);
    expect(route.parts).toEqual(['topics', 'a/b c']);
    expect(route.query.get('q')).toBe('x&y');
    expect(parseHash('').parts).toEqual([]);
  });
});
