/**
 * Checks of the soak's fault server itself, run before the scenarios, so
 * that a wrong count on the server's side cannot pass for a fault of the
 * library or hide one.
 */
import { startFaultServer } from "./fault-server.mjs"

const SERVER_OPTIONS = { slowMs: 50, hangMs: 100, retryAfterSeconds: 1 }

/** The media type that the Prometheus exporter sends. */
const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const documentOf = (ids) =>
  JSON.stringify({ metrics: ids.map((id) => ({ id, operation: "check" })) })

const exposition = (total) =>
  `# TYPE dinoair_operations_total counter\ndinoair_operations_total{operation="check",status="ok"} ${total}\n`

/** Posts one body and returns the status, or `"reset"` when the server closed the connection. */
const post = async (url, body, contentType = "application/json") => {
  try {
    const headers = { "content-type": contentType }
    const response = await fetch(url, { method: "POST", body, headers })
    await response.arrayBuffer()
    return response.status
  } catch {
    return "reset"
  }
}

/** Returns the outcomes of `count` requests to a fresh faulty server started with `seed`. */
const outcomeSequence = async (seed, count) => {
  const server = await startFaultServer({ seed, ...SERVER_OPTIONS })
  const statuses = []
  for (let index = 0; index < count; index++) {
    statuses.push(await post(server.url, documentOf([`sequence#${index}`])))
  }
  const stats = server.stats()
  await server.close()
  return { statuses, stats }
}

/** Runs the checks and returns them as `{ name, passed, detail }` entries. */
export const checkFaultServer = async () => {
  const checks = []
  const check = (name, passed, detail) => checks.push({ name, passed: Boolean(passed), detail })

  const server = await startFaultServer({ seed: 1, ...SERVER_OPTIONS })
  server.setMode("healthy")
  await post(server.url, documentOf(["a", "b"]))
  await post(server.url, documentOf(["b", "c"]))
  const invalidStatus = await post(server.url, "{not json")
  await post(server.url, exposition(3), PROMETHEUS_CONTENT_TYPE)
  await post(server.url, exposition(2), PROMETHEUS_CONTENT_TYPE)
  const healthy = server.stats()
  server.setMode("hanging")
  const hangingStatus = await post(server.url, documentOf(["d"]))
  const afterHang = server.stats()
  await server.close()

  check(
    "server counts each id once",
    healthy.uniqueAcceptedRecords === 3 && healthy.duplicateRecords === 1,
    `unique ${healthy.uniqueAcceptedRecords}, duplicates ${healthy.duplicateRecords} for ids a b, then b c`,
  )
  check(
    "server rejects an invalid body",
    invalidStatus === 400 && healthy.invalidBodies === 1,
    `status ${invalidStatus}, invalid bodies ${healthy.invalidBodies}`,
  )
  check(
    "server sees a counter go down",
    healthy.exposition.documents === 2 &&
      healthy.exposition.lastTotal === 2 &&
      healthy.exposition.decreases === 1,
    `${healthy.exposition.documents} expositions, last total ${healthy.exposition.lastTotal}, ${healthy.exposition.decreases} decreases for totals 3, then 2`,
  )
  check(
    "server accepts nothing while hanging",
    hangingStatus === "reset" && afterHang.uniqueAcceptedRecords === 3,
    `request ${hangingStatus}, unique ${afterHang.uniqueAcceptedRecords}`,
  )

  const first = await outcomeSequence(7, 40)
  const second = await outcomeSequence(7, 40)
  const faults = first.stats.requests - first.stats.acceptedRequests
  check(
    "same seed gives the same outcomes",
    JSON.stringify(first.statuses) === JSON.stringify(second.statuses),
    `${first.statuses.join(" ")}`,
  )
  check(
    "faults accept no records",
    faults > 0 && first.stats.uniqueAcceptedRecords === first.stats.acceptedRequests,
    `${faults} of 40 requests failed, ${first.stats.uniqueAcceptedRecords} records accepted by ${first.stats.acceptedRequests} requests`,
  )
  return checks
}
