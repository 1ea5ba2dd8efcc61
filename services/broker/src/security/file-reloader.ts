// What reloads a broker's files without a restart (TLS material, cluster secrets): SIGHUP, or a
// change of one of the files, polled (secret and certificate tools replace files by rename, which
// fs.watch loses). One reload at a time: a second waits for the first.

import { unwatchFile, watchFile } from 'node:fs';

export class FileReloader {
  readonly #files: readonly string[];
  readonly #pollIntervalMs: number;
  readonly #load: (reason: string) => Promise<boolean>;
  #watching = false;
  #reloading: Promise<boolean> | null = null;
  readonly #onSighup = (): void => void this.reload('SIGHUP');
  readonly #onFileChange = (): void => void this.reload('file changed');

  /** `load`: rereads the files; true when what they hold is now in use. */
  constructor(files: readonly string[], pollIntervalMs: number, load: (reason: string) => Promise<boolean>) {
    this.#files = files;
    this.#pollIntervalMs = pollIntervalMs;
    this.#load = load;
  }

  /** Reloads on SIGHUP and on a change of any file, until close(). No files: nothing to watch. */
  watch(): void {
    if (this.#watching || this.#files.length === 0) return;
    this.#watching = true;
    process.on('SIGHUP', this.#onSighup);
    for (const file of this.#files) watchFile(file, { interval: this.#pollIntervalMs, persistent: false }, this.#onFileChange);
  }

  /** Rereads the files now; true when the new content is in use. */
  async reload(reason: string): Promise<boolean> {
    if (this.#files.length === 0) return false;
    while (this.#reloading !== null) await this.#reloading;
    this.#reloading = this.#load(reason);
    try {
      return await this.#reloading;
    } finally {
      this.#reloading = null;
    }
  }

  close(): void {
    if (!this.#watching) return;
    this.#watching = false;
    process.off('SIGHUP', this.#onSighup);
    for (const file of this.#files) unwatchFile(file, this.#onFileChange);
  }
}
