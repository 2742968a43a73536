// Bundles the web dashboard (src/http/dashboard, preact + uPlot + the browser build of mqtt) with esbuild into
// dist/dashboard: index.html plus content-hashed .js / .css files, so the server can let browsers cache those
// for good and index.html not at all. Nothing is fetched at run time; no source maps ship.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}src/http/dashboard/`;
const target = `${root}dist/dashboard`;
// Built beside the target and swapped in at the end, so a broker serving dist/dashboard meanwhile never finds it
// half-written or gone for the seconds esbuild takes.
const out = `${target}.building-${process.pid}`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { dashboard: `${source}main.tsx` },
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  outdir: out,
  metafile: true,
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const entry = (ext) => {
  const found = outputs.find(([file, o]) => o.entryPoint !== undefined && file.endsWith(ext));
  if (found === undefined) throw new Error(`no ${ext} output for the dashboard entry`);
  return `./${basename(found[0])}`;
};
const css = outputs.find(([file]) => file.endsWith('.css') && basename(file).startsWith('dashboard-'));
if (css === undefined) throw new Error('no dashboard CSS output');
const html = readFileSync(`${source}index.html`, 'utf8')
  .replace('%JS%', entry('.js'))
  .replace('%CSS%', `./${basename(css[0])}`);
writeFileSync(`${out}/index.html`, html);
rmSync(target, { recursive: true, force: true });
renameSync(out, target);
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
console.log(`dashboard: ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB in dist/dashboard`);
