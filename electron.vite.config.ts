// Builds the app with electron-vite: the main process (with the engine process as a second entry),
// the preload script (one sandbox-compatible CommonJS file), and the renderer (renderer/, Svelte).
// Output: out/main/{index,engine-process,decode-heic-worker,candidate-worker}.js, out/preload/index.cjs, out/renderer/.
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      // Dependencies (sharp, onnxruntime-node, chokidar, ...) stay in node_modules: native code
      // cannot be bundled.
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(root, 'electron/main/index.ts'),
          'engine-process': resolve(root, 'electron/engine-process/index.ts'),
          // Worker threads of the HEIC decoder: a file of its own (the engine process points the
          // decoder at it, see electron/engine-process/index.ts).
          'decode-heic-worker': resolve(root, 'electron/engine/decode-heic-worker.ts'),
          // Worker threads of the LSH pair search (electron/engine/candidate-workers.ts), likewise.
          'candidate-worker': resolve(root, 'electron/engine/candidate-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload can require only 'electron': everything else is bundled into one file.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(root, 'electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [svelte()],
    build: {
      // No data: URLs for small assets: the page's CSP allows images only from 'self', blob: and thumbnails.
      assetsInlineLimit: 0,
      rollupOptions: { input: resolve(root, 'renderer/index.html') },
    },
  },
});
