// The worker thread of segment-scanner.ts: scans one sealed segment file per message.

import { parentPort } from 'node:worker_threads';
import { scanSegmentFileTail, type SegmentFileRange } from './segment-file-scan.js';
import type { SegmentObjectInfo } from './segment-format.js';

export interface ScanRequest {
  id: number;
  range: SegmentFileRange;
  info: SegmentObjectInfo;
}

parentPort?.on('message', (request: ScanRequest) => {
  scanSegmentFileTail(request.range, request.info).then(
    ({ tail, footer }) => parentPort!.postMessage({ id: request.id, tail, footer }),
    (e: unknown) => {
      const error = e as { code?: unknown; message?: unknown };
      parentPort!.postMessage({ id: request.id, error: { code: typeof error.code === 'string' ? error.code : null, message: String(error.message ?? e) } });
    },
  );
});
