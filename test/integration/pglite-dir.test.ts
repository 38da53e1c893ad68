/**
 * An embedded data folder made by another PostgreSQL major (an older PGlite: 0.5 was PostgreSQL 18) is moved aside
 * and a new one made, instead of the start failing with "PGlite failed to initialize properly"
 * (src/db/pglite-dir.ts). The old folder is stood in for by a real one whose PG_VERSION names another major, which
 * PostgreSQL refuses to open just as it refuses a real one.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { openPgliteDir } from '../../src/db/pglite-dir.js';

const root = mkdtempSync(join(tmpdir(), 'tally-pglite-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the embedded data folder', () => {
  it('opens a folder of this PGlite as it is', async () => {
    const dir = join(root, 'current');
    const first = await openPgliteDir(dir);
    await first.pglite.exec('create table kept (x int); insert into kept values (7)');
    await first.pglite.close();
    const again = await openPgliteDir(dir);
    expect(again.movedAside).toBeUndefined();
    expect((await again.pglite.query<{ x: number }>('select x from kept')).rows).toEqual([{ x: 7 }]);
    await again.pglite.close();
  });

  it('moves a folder of another PostgreSQL major aside, keeps it whole, and starts a new one', async () => {
    const dir = join(root, 'older');
    const made = await PGlite.create(dir);
    await made.close();
    const major = Number(readFileSync(join(dir, 'PG_VERSION'), 'utf8'));
    writeFileSync(join(dir, 'PG_VERSION'), `${major - 1}\n`);

    const opened = await openPgliteDir(dir);
    expect(opened.movedAside).toBe(`${dir}-pg${major - 1}`);
    expect(readFileSync(join(opened.movedAside!, 'PG_VERSION'), 'utf8').trim()).toBe(String(major - 1));
    expect(readFileSync(join(dir, 'PG_VERSION'), 'utf8').trim()).toBe(String(major));
    expect((await opened.pglite.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await opened.pglite.close();
  });

  it('leaves a folder that fails for another reason where it is, and says so', async () => {
    const dir = join(root, 'broken');
    const made = await PGlite.create(dir);
    await made.close();
    rmSync(join(dir, 'global'), { recursive: true });
    await expect(openPgliteDir(dir)).rejects.toThrow();
    expect(existsSync(`${dir}-pg${readFileSync(join(dir, 'PG_VERSION'), 'utf8').trim()}`)).toBe(false);
  });
});
