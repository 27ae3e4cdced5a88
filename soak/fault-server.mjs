/**
 * The HTTP endpoint of the soak: it takes the JSON documents or Prometheus
 * expositions that the HTTP sink posts and fails a share of the requests at
 * random.
 *
 * Each request draws one outcome from a seeded generator, so the sequence
 * of outcomes is the same for the same seed. Which request meets which
 * outcome still depends on timing.
 *
 * A record counts as accepted only when the server responded with 2xx to
 * the request that carried it, because that response is what tells the sink
 * the batch arrived. A fault never accepts: the server responds with an error
 * status, or it destroys the connection before responding, even after reading the
 * whole body. Accepted JSON records are counted by their `id`, and an id
 * accepted twice counts as a duplicate. A Prometheus exposition has no
 * records, so the server keeps the sum of its `dinoair_operations_total`
 * samples instead, and counts each time that sum went down from one
 * accepted exposition to the next.
 */
import { createServer } from "node:http"

/**
 * The outcomes and their weights. `slow` responds with 2xx after a delay shorter
 * than the sink's timeout; `hang` never responds and closes the connection
 * after a delay longer than it.
 */
export const OUTCOME_WEIGHTS = Object.freeze({
  ok: 70,
  slow: 5,
  status500: 5,
  status502: 2,
  status503: 4,
  status429: 5,
  resetBeforeBody: 3,
  resetAfterBody: 4,
  hang: 2,
})

/**
 * Returns a generator of floats in [0, 1) seeded with a 32-bit integer
 * (the mulberry32 algorithm).
 */
export const seededRandom = (seed) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Returns a function that maps a float in [0, 1) to an outcome name by weight. */
const outcomePicker = (weights) => {
  const entries = Object.entries(weights)
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0)
  return (draw) => {
    let point = draw * total
    for (const [name, weight] of entries) {
      if (point < weight) return name
      point -= weight
    }
    return entries[entries.length - 1][0]
  }
}

/**
 * Starts the server on 127.0.0.1 with a port that the system picks.
 *
 * Options: `seed` (integer), `slowMs` (the longest delay of a `slow`
 * response), `hangMs` (milliseconds that a `hang` keeps the connection open)
 * and `retryAfterSeconds` (the longest `Retry-After` of a 429, in seconds).
 */
export const startFaultServer = async ({ seed, slowMs, hangMs, retryAfterSeconds }) => {
  const random = seededRandom(seed)
  const pick = outcomePicker(OUTCOME_WEIGHTS)
  const outcomes = Object.fromEntries(Object.keys(OUTCOME_WEIGHTS).map((name) => [name, 0]))
  /** The outcome of the request that first delivered each record id. */
  const acceptedIds = new Map()
  /** Duplicate records, by the outcome of the request that first delivered them. */
  const duplicatesAfter = {}
  const counts = {
    requests: 0,
    acceptedRequests: 0,
    acceptedRecords: 0,
    duplicateRecords: 0,
    invalidBodies: 0,
  }
  /**
   * `faulty` draws an outcome per request, `healthy` accepts every request,
   * and `hanging` treats every request as a `hang` does.
   */
  let mode = "faulty"
  const sockets = new Set()
  const timers = new Set()

  const later = (ms, action) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      action()
    }, ms)
    timers.add(timer)
  }

  /** Prometheus expositions carry running totals instead of records, so they are counted apart. */
  const exposition = { documents: 0, lastTotal: 0, decreases: 0 }

  const accept = (request, body, response, outcome) => {
    const isPrometheus = (request.headers["content-type"] ?? "").startsWith("text/plain")
    const parsed = isPrometheus ? operationsTotalOf(body) : idsOf(body)
    if (parsed instanceof Error) {
      counts.invalidBodies++
      response.writeHead(400, { "content-type": "text/plain" })
      response.end(`invalid telemetry document: ${parsed.message}`)
      return
    }

    if (isPrometheus) {
      if (parsed < exposition.lastTotal) exposition.decreases++
      exposition.lastTotal = parsed
      exposition.documents++
    } else {
      for (const id of parsed) {
        const first = acceptedIds.get(id)
        if (first === undefined) {
          acceptedIds.set(id, outcome)
          continue
        }
        counts.duplicateRecords++
        duplicatesAfter[first] = (duplicatesAfter[first] ?? 0) + 1
      }
      counts.acceptedRecords += parsed.length
    }
    counts.acceptedRequests++
    response.writeHead(204)
    response.end()
  }

  const readBody = (request, onBody) => {
    const chunks = []
    request.on("data", (chunk) => chunks.push(chunk))
    request.on("end", () => onBody(Buffer.concat(chunks).toString("utf8")))
    request.on("error", () => undefined)
  }

  const fail = (response, status, headers = {}) => {
    response.writeHead(status, { "content-type": "text/plain", ...headers })
    response.end(`soak fault: HTTP ${status}`)
  }

  const server = createServer((request, response) => {
    counts.requests++
    // Two draws per request in every mode, so that the sequence stays aligned with the seed.
    const draw = random()
    const delayDraw = random()
    let outcome = "hang"
    if (mode === "faulty") outcome = pick(draw)
    else if (mode === "healthy") outcome = "ok"
    outcomes[outcome]++

    switch (outcome) {
      case "ok":
        readBody(request, (body) => accept(request, body, response, outcome))
        return
      case "slow":
        readBody(request, (body) =>
          later(Math.floor(delayDraw * slowMs), () => accept(request, body, response, outcome)),
        )
        return
      case "status500":
      case "status502":
      case "status503":
        readBody(request, () => fail(response, Number(outcome.slice("status".length))))
        return
      case "status429":
        readBody(request, () =>
          fail(response, 429, {
            "retry-after": String(Math.floor(delayDraw * (retryAfterSeconds + 1))),
          }),
        )
        return
      case "resetBeforeBody":
        request.socket.destroy()
        return
      case "resetAfterBody":
        readBody(request, () => request.socket.destroy())
        return
      case "hang":
        readBody(request, () => later(hangMs, () => request.socket.destroy()))
        return
    }
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })

  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", resolve)
  })
  const { port } = server.address()

  return {
    url: `http://127.0.0.1:${port}/ingest`,
    /** Sets how the server treats later requests: `faulty`, `healthy` or `hanging`. */
    setMode: (next) => {
      mode = next
    },
    /** Counts so far: requests, accepted records and requests, duplicates, and each outcome. */
    stats: () => ({
      ...counts,
      uniqueAcceptedRecords: acceptedIds.size,
      duplicatesAfter: { ...duplicatesAfter },
      exposition: { ...exposition },
      outcomes: { ...outcomes },
    }),
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** Returns the record ids of a JSON telemetry document, or the parse error. */
const idsOf = (body) => {
  try {
    return JSON.parse(body).metrics.map((record) => record.id)
  } catch (error) {
    return error
  }
}

const OPERATIONS_TOTAL = /^dinoair_operations_total(?:\{[^}]*\})?\s+(\S+)/

/**
 * Returns the sum of the `dinoair_operations_total` samples of a Prometheus
 * exposition: the operations that the exporter counted, across every
 * operation and status.
 */
const operationsTotalOf = (body) => {
  let total = 0
  for (const line of body.split("\n")) {
    const match = OPERATIONS_TOTAL.exec(line)
    if (match === null) continue
    const value = Number(match[1])
    if (!Number.isFinite(value)) return new Error(`invalid sample value in ${JSON.stringify(line)}`)
    total += value
  }
  return total
}
