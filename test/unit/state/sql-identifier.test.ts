import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/streams-error.ts';
import { quoteIdentifier, storeTableName } from '../../../src/state/index.ts';

describe('quoteIdentifier', () => {
  it('double-quotes a plain identifier, keeping its case', () => {
    expect(quoteIdentifier('state_Users_1', 'table')).toBe('"state_Users_1"');
  });

  it.each(['users; DROP TABLE users', 'a"b', 'users--', '1users', '', 'x'.repeat(64), 'ünïcode', 'a b', 'public.users'])(
    'refuses %j with a ConfigError naming the option',
    (name) => {
      expect(() => quoteIdentifier(name, 'State store "s": option table')).toThrow(ConfigError);
      expect(() => quoteIdentifier(name, 'State store "s": option table')).toThrow(/State store "s": option table must be a plain SQL identifier/);
    },
  );
});

describe('storeTableName', () => {
  it('keeps a name that is already a plain lower-case identifier', () => {
    expect(storeTableName('users')).toBe('state_users');
  });

  it('turns any store name into a valid identifier', () => {
    for (const name of ['users-STATE-STORE-0000000001', 'a'.repeat(200), '"; DROP TABLE users; --', '9lives', 'ünïcode']) {
      const table = storeTableName(name, '');
      expect(() => quoteIdentifier(table, 'table')).not.toThrow();
    }
  });

  it('never maps two store names to one table', () => {
    expect(storeTableName('users-store')).not.toBe(storeTableName('users_store'));
    expect(storeTableName('Users')).not.toBe(storeTableName('users'));
    expect(storeTableName(`${'a'.repeat(100)}1`)).not.toBe(storeTableName(`${'a'.repeat(100)}2`));
  });
});
