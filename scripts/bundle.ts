/**
 * Builds each deployable process into one ES module with esbuild, `<workspace>/dist/<entry>.mjs`: the
 * gateway, the five subgraphs and the message consumer. A process started from its bundle loads one file
 * instead of a few thousand modules, each resolved and transpiled through tsx's loader hooks: a
 * distributed topology (seven processes) starts in less than half the CPU time (docs/TESTING.md).
 *
 * `npm run build` bundles everything; `ensureBundle` (the test kit's) rebuilds one bundle when a file it was
 * built from changed since, so a test never runs yesterday's code.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The entry points that run as processes of their own, from the repository's root. */
export const DEPLOYABLES = [
  'gateway/src/main.ts',
  'subgraphs/users/src/main.ts',
  'subgraphs/chats/src/main.ts',
  'subgraphs/messages/src/main.ts',
  'subgraphs/messages/src/consumer-main.ts',
  'subgraphs/presence/src/main.ts',
  'subgraphs/media/src/main.ts',
] as const;

/** Where `entry`'s bundle is written: `<workspace>/src/main.ts` → `<workspace>/dist/main.mjs`. */
export const bundlePath = (entry: string) => entry.replace(/\/src\/([^/]+)\.ts$/, '/dist/$1.mjs');

/** The repository's files a bundle was built from, beside it, to tell when it is stale. */
const inputsPath = (outfile: string) => `${outfile}.inputs.json`;

/**
 * Left out of the bundles and imported from node_modules at run time: native binaries, and WebAssembly and
 * data files that a package loads from beside its own modules.
 */
const EXTERNAL = ['@node-rs/*', '@electric-sql/pglite', '@electric-sql/pglite/*', 'sharp', '@img/*'];

/** CommonJS packages inside an ES module still call `require()`, for Node's built-ins. */
const REQUIRE_BANNER =
  "import { createRequire as __bundleRequire } from 'node:module';\n" +
  'const require = __bundleRequire(import.meta.url);';

/**
 * A module that finds its files by `import.meta.url` (a subgraph's `schema.graphql`, the migrations, the
 * committed supergraph) keeps finding them: in each source file, `import.meta.url` becomes that file's own
 * URL, relative to the bundle, so the repository can move as a whole.
 */
function ownImportMetaUrl(outdir: string): esbuild.Plugin {
  return {
    name: 'own-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const url = `new URL(${JSON.stringify(relative(outdir, args.path))}, import.meta.url).href`;
        return {
          contents: source.replaceAll('import.meta.url', url),
          loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js',
        };
      });
    },
  };
}

/** Bundles `entry` (from the repository's root); each file is written under a name of its own, then renamed. */
export async function bundle(entry: string): Promise<void> {
  const outfile = join(ROOT, bundlePath(entry));
  const result = await esbuild.build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    external: EXTERNAL,
    plugins: [ownImportMetaUrl(dirname(outfile))],
    banner: { js: REQUIRE_BANNER },
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  // The repository's own sources, plus the lock file standing for every package under node_modules.
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes('node_modules/'))
    .map((input) => relative(ROOT, join(process.cwd(), input)));
  const files = [
    ...result.outputFiles.map(({ path, contents }) => ({ path, contents })),
    { path: inputsPath(outfile), contents: JSON.stringify([...inputs, 'package-lock.json']) },
  ];
  const temporary = (path: string) => `${path}.${process.pid}.tmp`;
  await mkdir(dirname(outfile), { recursive: true });
  await Promise.all(files.map(({ path, contents }) => writeFile(temporary(path), contents)));
  // The bundle itself last: a bundle newer than its map and inputs list is whole.
  await Promise.all(files.filter(({ path }) => path !== outfile).map(({ path }) => rename(temporary(path), path)));
  await rename(temporary(outfile), outfile);
}

const mtimeOf = (path: string) =>
  stat(path).then(
    (stats) => stats.mtimeMs,
    () => undefined,
  );

/** Whether `entry`'s bundle exists and is newer than every file it was built from. */
export async function isFresh(entry: string): Promise<boolean> {
  const outfile = join(ROOT, bundlePath(entry));
  const built = await mtimeOf(outfile);
  if (built === undefined) return false;
  const inputs = await readFile(inputsPath(outfile), 'utf8').then(
    (text) => JSON.parse(text) as string[],
    () => undefined,
  );
  if (!inputs) return false;
  const times = await Promise.all(inputs.map((input) => mtimeOf(join(ROOT, input))));
  return times.every((time) => time !== undefined && time <= built);
}

/** Builds `entry`'s bundle unless it is fresh; returns its path. */
export async function ensureBundle(entry: string): Promise<string> {
  if (!(await isFresh(entry))) await bundle(entry);
  return join(ROOT, bundlePath(entry));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await Promise.all(DEPLOYABLES.map(bundle));
  console.log(`bundled ${DEPLOYABLES.length} processes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
