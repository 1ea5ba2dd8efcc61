// Why a broker frees one large buffer as it starts (issue #16).
//
// node:http copies every request body chunk into a fresh buffer (up to 64 KiB, the size of a socket
// read) that V8 frees only when a GC collects it. glibc serves those chunks from the heap's top and,
// when a GC frees tens of MiB of them at once, gives everything above its trim threshold (128 KiB by
// default) back to the kernel; the next requests then take a page fault on every 4 KiB they receive.
// Under raw produce that was ~200 minor faults per MB received, and a fifth of the broker's CPU
// samples were that copy into fresh pages (perf, 1 KiB records in 64 KiB batches; the plain node:http
// baseline spent a seventh as many samples per GB on the same copy).
//
// glibc raises its thresholds by itself when a program frees a chunk it had mmapped: the mmap
// threshold becomes that chunk's size (if at most 32 MiB) and the trim threshold twice that
// (malloc.c, "dynamic mmap threshold"). Freeing one such chunk early sets the trim threshold near
// 62 MiB: the heap keeps up to that much freed memory for the next bodies instead of faulting it back
// in, and blocks under ~31 MiB come from the heap instead of their own mapping. That is the bound on
// what the broker holds on to for it. GLIBC_TUNABLES (glibc.malloc.trim_threshold) would say the same, but
// only from the process's environment at exec; this needs no launcher. Elsewhere (musl, macOS) the
// buffer is allocated and freed, untouched, and nothing changes.

/** Below glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit) with room for the chunk header. */
export const MALLOC_THRESHOLD_RAISE_BYTES = 31 * 1024 * 1024;

let raised = false;

/**
 * Allocates (untouched: no page is faulted in) and drops one buffer of MALLOC_THRESHOLD_RAISE_BYTES;
 * the next GC frees it, and glibc moves its thresholds. Once per process (several brokers of one
 * process share the allocator).
 */
export function raiseMallocThresholds(): boolean {
  if (raised) return false;
  raised = true;
  // allocUnsafeSlow: its own allocation (not Node's pool) and not zero-filled, so never touched.
  const chunk = Buffer.allocUnsafeSlow(MALLOC_THRESHOLD_RAISE_BYTES);
  return chunk.length === MALLOC_THRESHOLD_RAISE_BYTES;
}
