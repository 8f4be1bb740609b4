import { describe, expect, it } from 'vitest';
import {
  filterConditions,
  renderWhere,
  withBound,
  type Condition,
} from '../../collector/store/conditions.js';

describe('the store condition model', () => {
  it('renders each condition as fixed SQL text with bound values', () => {
    const where = renderWhere([
      { kind: 'snapshot', head: 9 },
      ...filterConditions({ patterns: [], since: 1, until: 2, host: 'h' }),
      { kind: 'keys', ids: [3, 4] },
      { kind: 'beyond', order: 'desc', position: { ts: 5, seq: 6 } },
    ]);
    expect(where.sql).toBe(
      'r.seq <= @head AND r.ts >= @since AND r.ts < @until AND r.host = @host AND r.key_id IN (SELECT value FROM json_each(@keys)) AND (r.ts, r.seq) < (@ats, @aseq)',
    );
    expect(where.params).toEqual({ head: 9, since: 1, until: 2, host: 'h', keys: '[3,4]', ats: 5, aseq: 6 });
    expect(renderWhere([]).sql).toBe('1');
  });

  it('swaps the keyset bound without touching the other conditions', () => {
    const base: Condition[] = [
      { kind: 'snapshot', head: 9 },
      { kind: 'beyond', order: 'asc', position: { ts: 1, seq: 1 } },
    ];
    const next = withBound(base, 'asc', { ts: 7, seq: 8 });
    expect(renderWhere(next).sql).toBe('r.seq <= @head AND (r.ts, r.seq) > (@ats, @aseq)');
    expect(renderWhere(next).params).toEqual({ head: 9, ats: 7, aseq: 8 });
    expect(withBound(base, 'asc', undefined)).toEqual([{ kind: 'snapshot', head: 9 }]);
  });
});
