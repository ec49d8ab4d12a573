/**
 * An operator's cut-off: ends every session of the named users, in every
 * process of the deployment: their tokens are refused at once and their live
 * streams end on every gateway (docs/SECURITY.md#live-streams-end-with-their-session).
 *
 *   npm run sessions:end -- <username> [<username> …]
 *
 * Runs with the deployment's configuration (`DATABASE_URL`, `REDIS_URL`, the
 * secrets), like any of its processes. The embedded default keeps its data
 * directory locked while it runs: stop it first (its streams end with it).
 * Exit code 1 when a username is unknown, 78 for a bad configuration.
 */
import { ConfigError, createRuntime, loadConfig, runtimeModels } from '@chat/common';
import { cutOffSessions } from '@chat/subgraph-users';

const usernames = process.argv.slice(2).filter((argument) => argument !== '--');
if (usernames.length === 0) {
  process.stderr.write('usage: npm run sessions:end -- <username> [<username> …]\n');
  process.exit(64);
}
let runtime;
try {
  runtime = await createRuntime(loadConfig(runtimeModels({ issuesTokens: false })));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(78);
}
let unknown = 0;
try {
  for (const username of usernames) {
    const ended = await cutOffSessions(runtime, username);
    if (ended === null) unknown += 1;
    process.stdout.write(
      ended === null ? `${username}: no such user\n` : `${username}: ${ended.length} session(s) ended\n`,
    );
  }
} finally {
  await runtime.close();
}
process.exit(unknown > 0 ? 1 : 0);
