// @strata/files: the local-file recipes every process that keeps state on disk shares (the
// broker's data dir, the in-process coordinator, the partition log). A package of its own because
// @strata/protocol does no I/O (STYLE.md) and the coordinator must not depend on the log or the
// broker: files <- log, coord, services.

export { fsyncDir, replaceFileAtomic, writeFileAtomic } from './atomic-write.js';
