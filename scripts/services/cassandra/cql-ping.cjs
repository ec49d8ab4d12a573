// Asks a Cassandra node for its version over CQL; used by cassandra.sh.
//   node cql-ping.cjs <host> <port> [timeoutMs]
// Prints release_version and exits 0 when `SELECT release_version FROM system.local` answers,
// exits 1 when it does not, 2 when cassandra-driver is not installed.
'use strict';
const path = require('path');

const [host = '127.0.0.1', port = '9042', timeoutMs = '5000'] = process.argv.slice(2);
const root = path.resolve(__dirname, '..', '..', '..');

let cassandra;
try {
  cassandra = require(
    require.resolve('cassandra-driver', {
      paths: [root, path.join(root, 'common')],
    }),
  );
} catch (e) {
  console.error('cassandra-driver not found under ' + root + '/node_modules (run npm install)');
  process.exit(2);
}
if (host === '--check') process.exit(0);

const timeout = Number(timeoutMs);
const client = new cassandra.Client({
  contactPoints: [host + ':' + port],
  localDataCenter: 'datacenter1',
  socketOptions: { connectTimeout: timeout, readTimeout: timeout },
  pooling: { warmup: false },
  policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60000) },
});

const timer = setTimeout(() => {
  console.error('timeout');
  process.exit(1);
}, timeout + 1000);

client
  .connect()
  .then(() => client.execute('SELECT release_version FROM system.local'))
  .then((rs) => {
    clearTimeout(timer);
    console.log(rs.first().release_version);
    return client.shutdown().then(() => process.exit(0));
  })
  .catch((err) => {
    clearTimeout(timer);
    console.error(String(err && err.message ? err.message : err).split('\n')[0]);
    client.shutdown().finally(() => process.exit(1));
  });
