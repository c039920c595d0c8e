/**
 * Caps on the side data a client can make the server keep, so that neither memory nor the
 * metadata store grows without bound whatever a client sends (each refusal names the cap):
 * dead properties per value and per resource, lock owners, locks per resource and per user.
 */
/** Largest value of one dead property (its XML, attributes included), bytes. */
export const MAX_DEAD_PROP_BYTES = 64 * 1024;
/** Largest total of the dead properties of one resource, bytes. */
export const MAX_DEAD_PROPS_PER_RESOURCE_BYTES = 1024 * 1024;
/** Most dead properties one resource may carry. */
export const MAX_DEAD_PROPS_PER_RESOURCE = 1000;
/** Largest owner XML of a lock, bytes. */
export const MAX_LOCK_OWNER_BYTES = 4 * 1024;
/** Most locks rooted at one resource (shared locks). */
export const MAX_LOCKS_PER_RESOURCE = 64;
/** Most live locks one principal (or all anonymous clients together) may hold. */
export const MAX_LOCKS_PER_PRINCIPAL = 10_000;
