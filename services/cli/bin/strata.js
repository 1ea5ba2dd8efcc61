#!/usr/bin/env node
// The installed `strata` command. A committed file rather than dist/main.js itself, so that
// `pnpm install` on a fresh clone (before the first build) can link it onto PATH.
import '../dist/main.js';
