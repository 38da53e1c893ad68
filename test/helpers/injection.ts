/** SQL injection payloads: every text a client sends must be stored and returned exactly, with nothing else done. */
export const DROP_USERS = "test'; DROP TABLE users;--";

export const INJECTION_PAYLOADS: readonly string[] = [
  DROP_USERS,
  "Robert'); DROP TABLE posts; --",
  "x' OR '1'='1",
  '"; DELETE FROM accounts; --',
  "1; UPDATE accounts SET balance = 999999999 WHERE ''=''",
  "admin'/*",
  '$1; TRUNCATE transactions CASCADE',
  '\\x27 \\\\ %_ \' " ` ; -- /* */',
  "Ünïcødé ☃ 😀 ‮'; DROP TABLE follows;--",
];
