import type Database from 'better-sqlite3';

/** Prepared statements cached by their SQL text: plans render fixed text, so each is prepared once. */
export interface Statements {
  prepare(sql: string): Database.Statement;
}

export function createStatements(db: Database.Database): Statements {
  const cache = new Map<string, Database.Statement>();
  return {
    prepare(sql) {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = db.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}
