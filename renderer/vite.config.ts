// Standalone build of the renderer (root: renderer/). The browser tests build with this file; the app's
// own electron.vite.config.ts uses the same entry (renderer/index.html -> src/main.ts).
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('../out/renderer-standalone', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: false,
  },
});
