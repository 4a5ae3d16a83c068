// Boots the window with Tauri's IPC (the global API: no bundler, no network).
import { createApp } from './app.js';

const tauri = window.__TAURI__;
const app = createApp({
  invoke: tauri.core.invoke,
  listen: tauri.event.listen,
  doc: document,
  win: window,
});
// The end-to-end harness reads pop-to-painted timings here: only in the demo (the simulated clouds),
// never beside a real agent's calls.
app.start().then(() => {
  if (app.state().demo) window.__companion = app;
});
