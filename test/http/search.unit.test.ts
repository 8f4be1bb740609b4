import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, WarrenError } from '../../protocol/index.js';
import { messageMatcher, parseSearch, searchWords, toFtsExpression } from '../../protocol/search.js';
import { textFilter, type QueryStore } from '../../collector/store/query.js';
import { createTestStore, type TestRecord, type TestStore } from './fixtures.js';

/**
 * The one text search: the live matcher (logtail -q, the screen's /) must give exactly the store's
 * answer (the API's q, FTS5 unicode61) on the same records, whatever the case, accents or punctuation.
 */

const WORDS = [
  'disk',
  'Disk',
  'DISK',
  'diskette',
  'need',
  'needed',
  'école',
  'Ecole',
  'e\u0301cole',
  'straße',
  'STRASSE',
  'Über',
  'ueber',
  'ǖber',
  'Ωmega',
  'x²',
  'sda1',
  'a_b',
  'key=abc',
  'fail-over',
  'on',
  'AND',
  'NEAR',
  '123',
  'ĳ',
  'Łódź',
];
const SEPARATORS = [' ', ' ', ', ', '-', '.', '/', ':', '"', '_', '(', '*'];

let state = 12345;
const random = (): number => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

function randomMessage(): string {
  const n = 1 + Math.floor(random() * 6);
  let msg = pick(WORDS);
  for (let i = 1; i < n; i++) msg += pick(SEPARATORS) + pick(WORDS);
  return msg;
}

function randomQuery(): string {
  const terms: string[] = [];
  const n = 1 + Math.floor(random() * 3);
  for (let i = 0; i < n; i++) {
    const word = pick(WORDS);
    const roll = random();
    if (roll < 0.25) terms.push(`${word.slice(0, 1 + Math.floor(random() * word.length))}*`);
    else if (roll < 0.4) terms.push(`"${word} ${pick(WORDS)}"`);
    else terms.push(word);
  }
  return terms.join(' ');
}

describe('the one text search', () => {
  let store: TestStore;
  let query: QueryStore;
  const records: TestRecord[] = [];

  beforeAll(async () => {
    store = await createTestStore();
    for (let i = 0; i < 600; i++)
      records.push({ id: `s${i}`, ts: 1_000 + i, key: 'app.info', msg: randomMessage() });
    await store.insert(records);
    query = await store.reads();
  });
  afterAll(async () => {
    await query.close();
    await store.cleanup();
  });

  it('cuts words as unicode61 does: case-folded, Latin accents removed, punctuation separates', () => {
    expect(searchWords('Disk-failure on SDA1: key=abc')).toEqual([
      'disk',
      'failure',
      'on',
      'sda1',
      'key',
      'abc',
    ]);
    expect(searchWords('École e\u0301cole Łódź ǖber Ωmega a_b')).toEqual([
      'ecole',
      'ecole',
      'łodz',
      'ǖber',
      'ωmega',
      'a',
      'b',
    ]);
  });

  it('parses words, prefixes and quoted phrases once, and refuses text without words', () => {
    expect(toFtsExpression(parseSearch('Disk fail* "on sda" AND'))).toBe('"disk" "fail"* "on" "sda" "and"');
    expect(toFtsExpression(parseSearch('disk-fail*'))).toBe('"disk" "fail"*');
    expect(() => parseSearch(' -- * ')).toThrowError(WarrenError);
    try {
      parseSearch('!!');
    } catch (err) {
      expect((err as WarrenError).code).toBe(ErrorCodes.BAD_QUERY);
    }
  });

  it('matches a live record exactly when the store returns it, on random records and queries', async () => {
    for (let i = 0; i < 300; i++) {
      const q = randomQuery();
      const matches = messageMatcher(parseSearch(q));
      const live = records.filter((r) => matches(r.msg)).map((r) => r.id);
      const page = await query.page({
        patterns: [],
        text: textFilter(q, 'words'),
        order: 'asc',
        limit: 10_000,
      });
      expect(
        page.records.map((r) => r.record.id),
        `q=${q}`,
      ).toEqual(live);
      expect(
        await query.countBetween({ patterns: [], text: textFilter(q, 'words') }, 0, page.head),
        `q=${q}`,
      ).toBe(live.length);
    }
  });
});
