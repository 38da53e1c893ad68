/**
 * The embedded database's folder, opened by the PGlite installed. Each PGlite release is one PostgreSQL major (0.5
 * was 18, 0.6 is 19), and PostgreSQL opens no data folder of another major: after an upgrade `npm start` failed
 * with "PGlite failed to initialize properly". A folder of another major is moved aside (`<dir>-pg18`, kept, never
 * deleted) and a new one made, which the server seeds with demo data as on a first start; the caller is told so.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

export interface OpenedDir {
  readonly pglite: PGlite;
  /** Where the folder of another PostgreSQL major went, when one was moved aside. */
  readonly movedAside?: string;
}

export async function openPgliteDir(dataDir: string): Promise<OpenedDir> {
  try {
    return { pglite: await PGlite.create(dataDir) };
  } catch (error) {
    const versionFile = join(dataDir, 'PG_VERSION');
    if (/^[a-z]+:\/\//.test(dataDir) || !existsSync(versionFile)) throw error;
    const found = readFileSync(versionFile, 'utf8').trim();
    const current = await installedMajor();
    if (found === current) throw error;
    let movedAside = `${dataDir}-pg${found}`;
    for (let n = 2; existsSync(movedAside); n += 1) movedAside = `${dataDir}-pg${found}-${n}`;
    renameSync(dataDir, movedAside);
    return { pglite: await PGlite.create(dataDir), movedAside };
  }
}

/** The PostgreSQL major the installed PGlite runs, asked of a throwaway in-memory instance (only on this path). */
async function installedMajor(): Promise<string> {
  const probe = await PGlite.create('memory://');
  try {
    const { rows } = await probe.query<{ server_version_num: string }>('show server_version_num');
    return String(Math.floor(Number(rows[0]!.server_version_num) / 10_000));
  } finally {
    await probe.close();
  }
}
