/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dashboard is served by `pitbox cloud` / `pitbox relay` from the same origin as the API and
// the WebSocket, so all URLs are relative. `npm run dev` proxies them to a local cloud.
// A second entry, driver.html, is the driver's window served by `pitbox driver` (issue 22): it
// shares components, formatting and protocol types with the dashboard from the same build.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rolldownOptions: { input: { main: 'index.html', driver: 'driver.html' } },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/dashboard-config.json': 'http://127.0.0.1:8080',
    },
  },
  test: {
    // Pure modules run in node (fast); component tests opt into jsdom per file.
    environment: 'node',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
});
