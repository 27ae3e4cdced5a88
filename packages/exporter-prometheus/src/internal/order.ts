/**
 * Orderings shared by the registry and the family builder, so that both
 * pick the same latest record and sort series the same way.
 */
import type { OperationMetrics } from "@dinoair/monitor"

/** Orders strings by UTF-16 code units, the order `Array.prototype.sort` uses by default. */
export const compareStrings = (left: string, right: string): number =>
  left < right ? -1 : left > right ? 1 : 0

/** Reads a record's timestamp for ordering. A missing or NaN one sorts before every real time. */
const timestampOf = (record: OperationMetrics): number => {
  const timestamp: unknown = record.timestamp
  return typeof timestamp === "number" && !Number.isNaN(timestamp)
    ? timestamp
    : Number.NEGATIVE_INFINITY
}

/**
 * Whether `candidate` replaces `current` as the latest record: it does
 * unless `current` has the strictly greater timestamp, so on a tie the
 * record seen later wins.
 */
export const isAtLeastAsRecent = (
  candidate: OperationMetrics,
  current: OperationMetrics,
): boolean => !(timestampOf(current) > timestampOf(candidate))
