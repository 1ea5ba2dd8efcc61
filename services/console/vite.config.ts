// The console is served by the broker under /console/: every asset URL is absolute under that base,
// hashed (so the broker can let browsers keep them), and nothing is loaded from anywhere else.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, sourcemap: false, chunkSizeWarningLimit: 200 },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
