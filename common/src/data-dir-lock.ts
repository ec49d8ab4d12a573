import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError } from './env.ts';

/**
 * Embedded Postgres (PGlite) must have exactly one process per data
 * directory; a second one would corrupt it. Take a PID lock file, taking over
 * one whose process is gone.
 * @returns a function that releases the lock.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = `${dataDir}/LOCK`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8'));
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new ConfigError(
          `Invalid configuration:\n  DATA_DIR: ${dataDir} is in use by process ${holder}; give each embedded instance its own DATA_DIR`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new ConfigError(`Invalid configuration:\n  DATA_DIR: could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
