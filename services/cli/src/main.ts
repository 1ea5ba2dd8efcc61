#!/usr/bin/env node
// The `strata` executable: run the CLI against the real process, then exit with its status.
import { runCli } from './index.js';
import { isBrokenPipe } from './io.js';

// A reader that went away (`strata consume ... | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (isBrokenPipe(error)) process.exit(0);
    throw error;
  });
}

const code = await runCli(process.argv.slice(2));
// Exit explicitly once the output is written: an idle keep-alive socket must not hold the process.
process.stdout.write('', () => process.exit(code));
