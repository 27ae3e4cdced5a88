/**
 * The playground dashboard: polls `/api/summary`, keeps a bounded history
 * of its responses, and draws it with uPlot.
 *
 * Everything the server sends is shown as text (`textContent`, `Option`,
 * `dataset`), never parsed as HTML: operation names are chosen by the
 * code under watch, and file paths end up in the export previews.
 *
 * The history is a ring of at most `maxPoints` samples, one per response,
 * and each chart draws all of them. The query string can change the
 * bound and the pace: `?points=N` (10 to 3600, default 300) and
 * `?interval=MS` (250 to 60000, default 1000).
 *
 * For tests and for curious readers, the body carries `data-polls`
 * (responses received), `data-points` (samples held), `data-max-points`,
 * `data-state`, `data-recorded` (operations recorded in all) and
 * `data-selected`; each chart's figure carries `data-points`.
 */

const DEFAULT_POINTS = 300
const DEFAULT_INTERVAL_MS = 1000
const SUMMARY_URL = "/api/summary"
const CHART_HEIGHT = 210
const MIB = 1024 * 1024

/** Drop reasons: the key in the summary, the name in the text, the short name in the legend. */
const DROP_REASONS = [
  ["perOperation", "per-operation cap", "per-op cap"],
  ["total", "total cap", "total cap"],
  ["retention", "retention", "retention"],
  ["cleared", "cleared", "cleared"],
  ["rejected", "rejected", "rejected"],
]

const COLORS = {
  blue: "#2563eb",
  amber: "#d97706",
  red: "#dc2626",
  slate: "#64748b",
  green: "#16a34a",
  violet: "#7c3aed",
  lilac: "#a78bfa",
  sky: "#0284c7",
  indigo: "#6366f1",
}

const REASON_COLORS = ["#ea580c", "#b45309", "#9333ea", "#0891b2", "#be123c"]

const params = new URLSearchParams(window.location.search)
const maxPoints = integerParam("points", DEFAULT_POINTS, 10, 3600)
const intervalMs = integerParam("interval", DEFAULT_INTERVAL_MS, 250, 60000)

/** Samples, oldest first; at most `maxPoints`. */
const samples = []
/** The previous response's figures per operation, to turn totals into rates and interval means. */
let previous
let selected
let operationsKey = ""
let polls = 0
const rows = new Map()
const charts = new Map()
const previews = new Map()

const $ = (id) => document.getElementById(id)

document.body.dataset.maxPoints = String(maxPoints)
$("footer").textContent =
  `Polls ${SUMMARY_URL} every ${formatNumber(intervalMs / 1000, 2)} s and keeps the last ${maxPoints} responses per chart. ` +
  "Click a row or pick an operation to chart it; click a legend entry to hide or show a line."
$("operation").addEventListener("change", (event) => select(event.target.value))

poll()

async function poll() {
  try {
    const response = await fetch(SUMMARY_URL, { cache: "no-store" })
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    receive(await response.json())
  } catch {
    // The run may have ended and the server with it; the next poll tries again.
    setState("disconnected")
  }
  window.setTimeout(poll, intervalMs)
}

function receive(summary) {
  polls++
  addSample(summary)
  setState(summary.state)
  $("updated").textContent = `updated ${new Date(summary.timestamp * 1000).toLocaleTimeString()}`

  const names = summary.operations.map((entry) => entry.operation)
  if (selected === undefined || !names.includes(selected)) selected = names[0]
  updateSelect(names)
  updateTiles(summary)
  updateTable(summary.operations)
  updatePreviews(summary.exports)
  updateDrops(summary.telemetry)
  drawCharts()

  const body = document.body.dataset
  body.polls = String(polls)
  body.points = String(samples.length)
  body.recorded = String(sum(summary.operations.map((entry) => entry.count)))
}

/** Turns one response into a sample: totals become rates and interval means against the previous one. */
function addSample(summary) {
  const counts = new Map(summary.operations.map((entry) => [entry.operation, entry]))
  const total = sum(summary.operations.map((entry) => entry.count))

  // A total that went down means a new run in the same server: start the history again.
  if (previous !== undefined && total < previous.total) {
    samples.length = 0
    previous = undefined
  }
  if (previous !== undefined && summary.timestamp <= previous.timestamp) return

  const seconds = previous === undefined ? 0 : summary.timestamp - previous.timestamp
  const operations = new Map()
  for (const entry of summary.operations) {
    const before = previous?.counts.get(entry.operation)
    const added = entry.count - (before?.count ?? 0)
    operations.set(entry.operation, {
      p50: entry.p50Ms,
      p95: entry.p95Ms,
      p99: entry.p99Ms,
      rate: previous === undefined ? null : added / seconds,
      cpu: intervalMean(entry.meanCpuPercent, entry.count, before?.meanCpuPercent, before?.count),
      memory: scaled(
        intervalMean(entry.meanMemoryBytes, entry.count, before?.meanMemoryBytes, before?.count),
        MIB,
      ),
      memoryMax: scaled(entry.maxMemoryBytes, MIB),
    })
  }

  samples.push({
    time: summary.timestamp,
    totalRate: previous === undefined ? null : (total - previous.total) / seconds,
    operations,
    telemetry: summary.telemetry,
  })
  if (samples.length > maxPoints) samples.splice(0, samples.length - maxPoints)
  previous = { timestamp: summary.timestamp, total, counts }
}

/**
 * Computes the mean of the records added since the previous response, from
 * two running means. It assumes that every record has a reading, as in the playground,
 * which tracks CPU and memory for every operation.
 */
function intervalMean(mean, count, meanBefore, countBefore) {
  if (mean === null || mean === undefined) return null
  if (meanBefore === null || meanBefore === undefined || countBefore === undefined) return mean
  const added = count - countBefore
  if (added <= 0) return null
  return (mean * count - meanBefore * countBefore) / added
}

function drawCharts() {
  for (const name of document.querySelectorAll(".operation-name")) name.textContent = selected ?? ""
  if (typeof window.uPlot !== "function" || samples.length === 0) return

  const times = samples.map((sample) => sample.time)
  const of = (pick) =>
    samples.map((sample) => {
      const entry = sample.operations.get(selected)
      return entry === undefined ? null : pick(entry)
    })
  const telemetry = (pick) => samples.map((sample) => pick(sample.telemetry))

  draw("chart-latency", latencyOptions, [
    times,
    of((entry) => entry.p50),
    of((entry) => entry.p95),
    of((entry) => entry.p99),
  ])
  draw("chart-rate", rateOptions, [
    times,
    of((entry) => entry.rate),
    samples.map((sample) => sample.totalRate),
  ])
  draw("chart-resources", resourceOptions, [
    times,
    of((entry) => entry.cpu),
    of((entry) => entry.memory),
    of((entry) => entry.memoryMax),
  ])
  draw("chart-telemetry", telemetryOptions, [
    times,
    telemetry((counts) => counts.buffered),
    telemetry((counts) => counts.inFlight),
    telemetry((counts) => counts.delivered),
    telemetry((counts) => counts.droppedTotal),
    ...DROP_REASONS.map(([key]) => telemetry((counts) => counts.dropped[key])),
  ])
}

function draw(id, options, data) {
  const figure = $(id)
  let chart = charts.get(id)
  if (chart === undefined) {
    const plot = figure.querySelector(".plot")
    chart = new window.uPlot(
      { ...options(), width: Math.max(200, plot.clientWidth), height: CHART_HEIGHT },
      data,
      plot,
    )
    charts.set(id, chart)
    new ResizeObserver(() => {
      chart.setSize({ width: Math.max(200, plot.clientWidth), height: CHART_HEIGHT })
    }).observe(plot)
  } else {
    chart.setData(data)
  }
  figure.dataset.points = String(data[0].length)
}

function latencyOptions() {
  return chartOptions(
    [
      line("p50", COLORS.blue, "ms"),
      line("p95", COLORS.amber, "ms"),
      line("p99", COLORS.red, "ms"),
    ],
    [axis("ms")],
  )
}

function rateOptions() {
  return chartOptions(
    [line("this operation", COLORS.blue, "/s"), line("all operations", COLORS.slate, "/s")],
    [axis("operations / s")],
  )
}

function resourceOptions() {
  return chartOptions(
    [
      line("CPU %", COLORS.green, "%"),
      line("RSS mean MiB", COLORS.violet, "MiB", "mib"),
      { ...line("RSS max MiB", COLORS.lilac, "MiB", "mib"), dash: [6, 4] },
    ],
    [axis("CPU %"), axis("MiB", "mib", 1)],
    { mib: { auto: true } },
  )
}

function telemetryOptions() {
  return chartOptions(
    [
      line("buffered", COLORS.sky, ""),
      line("in flight", COLORS.indigo, ""),
      line("exported", COLORS.green, "", "total"),
      line("dropped", COLORS.red, "", "total"),
      ...DROP_REASONS.map(([, , label], index) => ({
        ...line(label, REASON_COLORS[index], "", "total"),
        dash: [4, 4],
        show: false,
      })),
    ],
    [axis("buffered"), axis("exported, dropped", "total", 1)],
    { total: { auto: true } },
  )
}

function chartOptions(series, axes, scales = {}) {
  return {
    scales: { x: { time: true }, ...scales },
    series: [{}, ...series],
    axes: [{ stroke: "#475569", grid: { stroke: "#e2e8f0" } }, ...axes],
    // The table has the exact figures; a legend without live values stays one or two lines.
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  }
}

function line(label, stroke, unit, scale = "y") {
  return {
    label,
    stroke,
    scale,
    width: 2,
    spanGaps: false,
    points: { show: false },
    value: (_chart, value) => (value === null ? "–" : `${formatNumber(value, 3)}${unit}`),
  }
}

function axis(label, scale = "y", side = 3) {
  return {
    scale,
    side,
    label,
    labelSize: 18,
    size: 60,
    stroke: "#475569",
    grid: { show: side === 3, stroke: "#e2e8f0" },
    values: (_chart, ticks) => ticks.map((tick) => formatNumber(tick, 3)),
  }
}

function select(name) {
  if (name === selected) return
  selected = name
  $("operation").value = name
  for (const [operation, row] of rows) row.classList.toggle("selected", operation === name)
  document.body.dataset.selected = name
  drawCharts()
}

function updateSelect(names) {
  const key = names.join("\n")
  const element = $("operation")
  if (key !== operationsKey) {
    operationsKey = key
    element.replaceChildren(...names.map((name) => new Option(name, name)))
  }
  if (selected !== undefined) element.value = selected
  document.body.dataset.selected = selected ?? ""
}

function updateTiles(summary) {
  const telemetry = summary.telemetry
  $("tile-operations").textContent = formatCount(summary.operations.length)
  $("tile-recorded").textContent = formatCount(sum(summary.operations.map((entry) => entry.count)))
  $("tile-exported").textContent = formatCount(telemetry.delivered)
  $("tile-buffered").textContent = formatCount(telemetry.buffered + telemetry.inFlight)
  $("tile-dropped").textContent = formatCount(telemetry.droppedTotal)
}

/** Updates the table in place: rows are kept by operation name and only their text changes. */
function updateTable(operations) {
  const body = $("operations").tBodies[0]
  const seen = new Set()
  let changedOrder = rows.size !== operations.length
  operations.forEach((entry, index) => {
    seen.add(entry.operation)
    let row = rows.get(entry.operation)
    if (row === undefined) {
      row = newRow(entry.operation)
      rows.set(entry.operation, row)
      changedOrder = true
    }
    if (body.rows[index] !== row) changedOrder = true
    setCells(row, [
      entry.operation,
      formatCount(entry.count),
      formatCount(entry.errors),
      formatNumber(entry.p50Ms, 3),
      formatNumber(entry.p95Ms, 3),
      formatNumber(entry.p99Ms, 3),
      entry.meanCpuPercent === null ? "–" : formatNumber(entry.meanCpuPercent, 1),
      entry.meanMemoryBytes === null ? "–" : formatNumber(entry.meanMemoryBytes / MIB, 1),
      entry.maxMemoryBytes === null ? "–" : formatNumber(entry.maxMemoryBytes / MIB, 1),
    ])
    row.classList.toggle("selected", entry.operation === selected)
  })
  for (const name of [...rows.keys()]) if (!seen.has(name)) rows.delete(name)
  if (changedOrder) body.replaceChildren(...operations.map((entry) => rows.get(entry.operation)))
  $("operations-note").textContent = `${operations.length} operations; click a row to chart it`
}

function newRow(name) {
  const row = document.createElement("tr")
  row.dataset.operation = name
  row.tabIndex = 0
  for (let i = 0; i < 9; i++) {
    const cell = document.createElement(i === 0 ? "th" : "td")
    if (i === 0) cell.scope = "row"
    row.append(cell)
  }
  row.addEventListener("click", () => select(name))
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault()
      select(name)
    }
  })
  return row
}

function setCells(row, values) {
  values.forEach((value, index) => {
    const cell = row.cells[index]
    if (cell.textContent !== value) cell.textContent = value
  })
}

function updatePreviews(exports) {
  for (const preview of exports) {
    let figure = previews.get(preview.format)
    if (figure === undefined) {
      figure = document.createElement("figure")
      figure.dataset.format = preview.format
      figure.append(document.createElement("figcaption"), document.createElement("pre"))
      $("previews").append(figure)
      previews.set(preview.format, figure)
    }
    figure.firstChild.textContent = `${FORMAT_NAMES[preview.format] ?? preview.format}: the ${preview.records} most recent records (${preview.contentType.split(";")[0]})`
    const omitted =
      preview.omittedChars > 0 ? `\n… ${formatCount(preview.omittedChars)} more characters` : ""
    const text = preview.text + omitted
    const pre = figure.lastChild
    if (pre.textContent !== text) pre.textContent = text
  }
}

const FORMAT_NAMES = { json: "JSON", prometheus: "Prometheus", csv: "CSV" }

function updateDrops(telemetry) {
  const reasons = DROP_REASONS.map(
    ([key, , label]) => `${label} ${formatCount(telemetry.dropped[key])}`,
  ).join(", ")
  $("drop-reasons").textContent =
    `Produced ${formatCount(telemetry.produced)} · dropped ${formatCount(telemetry.droppedTotal)} (${reasons})`
}

function setState(state) {
  const element = $("state")
  element.textContent = state
  element.dataset.state = state
  document.body.dataset.state = state
}

function integerParam(name, fallback, min, max) {
  const value = Number(params.get(name) ?? Number.NaN)
  return Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback
}

function formatNumber(value, significant) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–"
  if (value === 0) return "0"
  const digits = Math.max(0, significant - 1 - Math.floor(Math.log10(Math.abs(value))))
  return value.toLocaleString("en-US", { maximumFractionDigits: Math.min(digits, 6) })
}

function formatCount(value) {
  return value.toLocaleString("en-US")
}

function scaled(value, divisor) {
  return value === null || value === undefined ? null : value / divisor
}

function sum(values) {
  let total = 0
  for (const value of values) total += value
  return total
}
