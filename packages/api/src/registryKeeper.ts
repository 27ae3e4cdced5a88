/**
 * Keeps the Prometheus exporter's registry across the pipelines that one
 * telemetry manager builds, so that its counter and histogram never go back
 * to zero when a configuration change (a new `outputFile`, endpoint or
 * destination) builds a new exporter.
 *
 * The facade must not import `@dinoair/exporter-prometheus`, an optional
 * peer, so it cannot make a registry itself. It takes the `registry` of the
 * first Prometheus exporter it installs and passes it back as the
 * `registry` option of the next ones.
 *
 * Counting each record once: `Telemetry.setPipeline` passes the records
 * still buffered to a new exporter's `observe`, because a new registry has
 * not counted them. When the exporter being replaced counted into the same
 * registry, every buffered record is counted already, so the keeper mutes
 * the new exporter's `observe` while `setPipeline` runs. The hot path then
 * pays for one closure call and one boolean test per record.
 *
 * The registry is kept only from one installed Prometheus exporter to the
 * next, with the same `buckets` option. Another format, other buckets, or
 * a failed setup in between (when no exporter counts the records that end)
 * start a new registry, which Prometheus reads as a counter reset.
 */
import type { OperationMetrics } from "@dinoair/monitor"
import type { Exporter, Telemetry } from "@dinoair/telemetry"

/** The format whose exporter keeps a registry. */
const PROMETHEUS_FORMAT = "prometheus"

interface KeptRegistry {
  readonly registry: object
  /** The `buckets` option that the registry was made with, as JSON. */
  readonly bucketsKey: string
  /** The installed exporter that counts into the registry, as `install` wrapped it. */
  readonly exporter: Exporter.ExporterShape
}

/**
 * The registry of one telemetry manager's Prometheus exporters.
 */
export class RegistryKeeper {
  #kept: KeptRegistry | undefined

  /**
   * Returns the exporter options with the kept registry in place of
   * `buckets`. The options stay unchanged when the registry cannot
   * continue. That is the case for another format, other buckets, a
   * `registry` of the caller's own, or an installed exporter other than
   * the one counting into it.
   */
  exporterOptions(
    format: string,
    options: Record<string, unknown>,
    installed: Telemetry.Pipeline | undefined,
  ): Record<string, unknown> {
    const kept = this.#kept
    if (format !== PROMETHEUS_FORMAT || kept === undefined || "registry" in options) return options
    if (installed?.exporter !== kept.exporter || bucketsKeyOf(options) !== kept.bucketsKey) {
      return options
    }

    // The registry already has these buckets, and the exporter warns when it gets both.
    const { buckets: _buckets, ...rest } = options
    return { ...rest, registry: kept.registry }
  }

  /**
   * Installs `pipeline` in `telemetry` and remembers the registry of its
   * exporter. A Prometheus exporter that continues the installed one's
   * registry does not count the buffered records again.
   */
  install(
    telemetry: Telemetry.TelemetryInstance,
    format: string,
    options: Record<string, unknown>,
    pipeline: Telemetry.Pipeline,
  ): void {
    const registry = (pipeline.exporter as { readonly registry?: unknown }).registry
    const observe = pipeline.exporter.observe
    if (format !== PROMETHEUS_FORMAT || observe === undefined || !isRegistry(registry)) {
      this.#kept = undefined
      telemetry.setPipeline(pipeline)
      return
    }

    const kept = this.#kept
    const continuing = kept?.registry === registry && telemetry.pipeline?.exporter === kept.exporter
    let muted = continuing
    const exporter: Exporter.ExporterShape = {
      ...pipeline.exporter,
      observe: (record: OperationMetrics) => {
        if (!muted) observe(record)
      },
    }
    this.#kept = { registry, bucketsKey: bucketsKeyOf(options), exporter }

    // setPipeline passes the buffered records to `observe` before it returns.
    try {
      telemetry.setPipeline({ exporter, sink: pipeline.sink })
    } finally {
      muted = false
    }
  }
}

const bucketsKeyOf = (options: Record<string, unknown>): string => {
  try {
    return JSON.stringify(options.buckets ?? null)
  } catch {
    // A value JSON cannot hold, such as a BigInt: the exporter rejects it anyway.
    return String(options.buckets)
  }
}

/** The duck type that `@dinoair/exporter-prometheus` itself accepts as a registry. */
const isRegistry = (value: unknown): value is object =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { readonly observe?: unknown }).observe === "function" &&
  typeof (value as { readonly snapshot?: unknown }).snapshot === "function"
