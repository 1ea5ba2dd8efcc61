// Every timing of the cluster's leadership code, named, with its unit, in one place. The settings a
// deployment tunes (lease and session TTLs, the tick, the hand-over timeout) are in config.ts; these
// are the fixed fractions and intervals derived from them or used beside them.

/** A lease (partition or controller) is renewed every TTL / this (ms) since the last renewal was sent. */
export const LEASE_RENEWALS_PER_TTL = 3;

/**
 * Writes stop TTL / this (ms, at least one tick) before the lease could expire: the lease runs from
 * when the coordinator handled the call, after we sent it (deadlines count from the send time); the
 * margin covers clock-rate drift and the time between the check and the write.
 */
export const LEASE_SAFETY_MARGIN_TTL_DIVISOR = 5;

/** The broker registration is heartbeated every session TTL / this (ms). */
export const HEARTBEATS_PER_SESSION_TTL = 3;

/** Deadline of one coordinator call made while handing over or leaving (transfer, release, deregister), in ms. */
export const COORDINATOR_CALL_TIMEOUT_MS = 5_000;

/** Longest wait (ms) for an in-sync successor to fetch the last records at a hand-over (at most half the hand-over timeout). */
export const SUCCESSOR_CATCH_UP_MAX_MS = 5_000;

/** How often (ms) a hand-over looks whether the successor has caught up. */
export const SUCCESSOR_POLL_MS = 5;

/** A hand-over's upload retries: capped exponential backoff, first and largest delay in ms. */
export const HANDOVER_UPLOAD_RETRY_FIRST_MS = 100;
export const HANDOVER_UPLOAD_RETRY_MAX_MS = 2_000;

/** A named leader that has not taken a leaderless partition's lease for this many lease TTLs is passed over. */
export const NAMED_LEADER_PATIENCE_TTLS = 2;

/** The controller tries to acquire its lease every this many ticks (it reads who holds it on the others). */
export const CONTROLLER_ACQUIRE_EVERY_TICKS = 2;

/**
 * Ticks a broker runs before it is ready: one to read the live set and the assignments, the
 * controller's try and assignment on the next, and one more to take the leases assigned here.
 */
export const STARTUP_TICKS = CONTROLLER_ACQUIRE_EVERY_TICKS + 1;

/** At most one "not electable" warning per partition per this many ms. */
export const REFUSED_WARN_EVERY_MS = 5_000;

/** At most one "cluster loop failed" warning per this many ms (Redis down). */
export const LOOP_ERROR_LOG_EVERY_MS = 5_000;

/** The loop syncs topics every this many ticks; requests may sync in between, at most every TOPIC_SYNC_MIN_INTERVAL_MS. */
export const TOPIC_SYNC_EVERY_TICKS = 4;
export const TOPIC_SYNC_MIN_INTERVAL_MS = 100;

/** A topic missing from the coordinator for this long (ms) is dropped here (its local logs destroyed). */
export const TOPIC_ABSENCE_BEFORE_DROP_MS = 2_000;

/** A follower serving a read from the bucket reloads the manifest when older than this (ms): at its end, and below it. */
export const BUCKET_MANIFEST_MAX_AGE_AT_END_MS = 100;
export const BUCKET_MANIFEST_MAX_AGE_BELOW_END_MS = 1_000;

/**
 * A request waiting for a new topic's leaders runs the loop itself when the work is this broker's:
 * the first tick at once, the next ones at most this often (ms), never back to back (cluster-node.ts).
 */
export const AWAIT_LEADERS_RETICK_MS = 20;

/** How often (ms) a leaving broker looks whether its partitions are handed over. */
export const LEAVE_POLL_MS = 20;
