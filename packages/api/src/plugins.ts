/**
 * Finding the exporter and sink that a telemetry configuration names.
 *
 * JSON, the file sink and the console sink ship with the facade. The other
 * formats and destinations are optional peer packages, imported the first
 * time a configuration names them; third parties add theirs with
 * `registerPlugin`.
 */
import { plugin as jsonPlugin } from "@dinoair/exporter-json"
import { Config, type DinoLogger, Logging } from "@dinoair/monitor"
import { plugin as filePlugin } from "@dinoair/sink-file"
import {
  type Exporter,
  Plugin,
  Sink,
  SinkError,
  type Telemetry,
  type TelemetryConfig,
} from "@dinoair/telemetry"

const builtInExporters: Record<string, Plugin.ExporterPlugin> = { json: jsonPlugin }

const builtInSinks: Record<string, Plugin.SinkPlugin> = {
  file: filePlugin,
  console: {
    kind: "sink",
    destination: "console",
    make: () => Sink.makeConsole(),
  },
}

/** The optional packages that provide the other formats and destinations. */
const optionalPackages: Record<string, string> = {
  "exporter:prometheus": "@dinoair/exporter-prometheus",
  "exporter:csv": "@dinoair/exporter-csv",
  "sink:http": "@dinoair/sink-http",
}

const registered = new Map<string, Plugin.AnyPlugin>()

/**
 * Registers a third-party exporter or sink under its own name. A later
 * registration of the same name replaces the earlier one. A value without
 * the shape of a plugin is logged and ignored.
 *
 * @since 0.1.0
 */
export const registerPlugin = (plugin: Plugin.AnyPlugin): void => {
  if (!Plugin.isPlugin(plugin)) {
    Logging.CurrentLogger.defaultValue().warn(
      'registerPlugin: ignored a value that is not a plugin. Expected kind "exporter" with a string format, or kind "sink" with a string destination, and a make function.',
    )
    return
  }
  registered.set(keyOf(plugin), plugin)
}

/** Forgets every plugin that `registerPlugin` registered, for the testing kit. */
export const clearRegisteredPlugins = (): void => {
  registered.clear()
}

/**
 * Builds the exporter and sink for a configuration, importing optional
 * packages on first use. Fails with `PluginMissing` when a package is not
 * installed or a name is unknown.
 */
export const loadPipeline = async (
  config: TelemetryConfig.TelemetryConfig,
  pluginOptions: {
    readonly exporterOptions: Record<string, unknown>
    readonly sinkOptions: Record<string, unknown>
  },
  logger: DinoLogger,
): Promise<Telemetry.Pipeline | SinkError.SinkError> => {
  const exporterPlugin = await findPlugin("exporter", config.exportFormat)
  if (!Plugin.isPlugin(exporterPlugin) || exporterPlugin.kind !== "exporter")
    return exporterPlugin as SinkError.SinkError
  const sinkPlugin = await findPlugin("sink", config.exportDestination)
  if (!Plugin.isPlugin(sinkPlugin) || sinkPlugin.kind !== "sink")
    return sinkPlugin as SinkError.SinkError

  try {
    const exporter = exporterPlugin.make({ config, options: pluginOptions.exporterOptions, logger })
    if (!isExporter(exporter)) {
      return invalidPlugin(
        `the "${config.exportFormat}" exporter plugin's make returned ${Config.describe(exporter)}, not an exporter with format, contentType, fileExtension and encode`,
      )
    }
    const sink = sinkPlugin.make({ config, options: pluginOptions.sinkOptions, logger, exporter })
    if (!isSink(sink)) {
      return invalidPlugin(
        `the "${config.exportDestination}" sink plugin's make returned ${Config.describe(sink)}, not a sink with destination and deliver`,
      )
    }
    return { exporter, sink }
  } catch (error) {
    return new SinkError.SinkError({
      reason: "InvalidConfig",
      message: `could not set up ${config.exportFormat} export to ${config.exportDestination}: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    })
  }
}

const isExporter = (value: unknown): value is Exporter.ExporterShape => {
  if (value === null || typeof value !== "object") return false
  const candidate = value as Partial<Record<keyof Exporter.ExporterShape, unknown>>
  return (
    typeof candidate.encode === "function" &&
    typeof candidate.format === "string" &&
    typeof candidate.contentType === "string" &&
    typeof candidate.fileExtension === "string"
  )
}

const isSink = (value: unknown): value is Sink.SinkShape => {
  if (value === null || typeof value !== "object") return false
  const candidate = value as Partial<Record<keyof Sink.SinkShape, unknown>>
  return typeof candidate.deliver === "function" && typeof candidate.destination === "string"
}

const invalidPlugin = (message: string): SinkError.SinkError =>
  new SinkError.SinkError({ reason: "InvalidConfig", message })

const findPlugin = async (
  kind: "exporter" | "sink",
  name: string,
): Promise<Plugin.AnyPlugin | SinkError.SinkError> => {
  const key = `${kind}:${name}`
  const own = registered.get(key)
  if (own !== undefined) return own
  const builtIn = kind === "exporter" ? builtInExporters[name] : builtInSinks[name]
  if (builtIn !== undefined) return builtIn

  const specifier = optionalPackages[key]
  if (specifier === undefined) {
    const option = kind === "exporter" ? "exportFormat" : "exportDestination"
    return missing(
      `unknown ${option} "${name}". Use one of ${known(kind).join(", ")}, or register a plugin with registerPlugin`,
    )
  }

  let module: { readonly plugin?: unknown }
  try {
    module = (await import(specifier)) as { readonly plugin?: unknown }
  } catch (error) {
    return missing(
      `${kind === "exporter" ? "export format" : "export destination"} "${name}" needs the package ${specifier}, which could not be loaded (${errorCode(error)}). Install it with: npm install ${specifier}`,
    )
  }
  if (!Plugin.isPlugin(module.plugin)) {
    return missing(
      `${specifier} does not export a DinoAir plugin named "plugin"; install a version that matches @dinoair/api`,
    )
  }
  return module.plugin
}

const known = (kind: "exporter" | "sink"): Array<string> => {
  const builtIn = Object.keys(kind === "exporter" ? builtInExporters : builtInSinks)
  const optional = Object.keys(optionalPackages)
    .filter((key) => key.startsWith(`${kind}:`))
    .map((key) => key.slice(kind.length + 1))
  const own = [...registered.keys()]
    .filter((key) => key.startsWith(`${kind}:`))
    .map((key) => key.slice(kind.length + 1))
  return [...new Set([...builtIn, ...optional, ...own])]
}

const missing = (message: string): SinkError.SinkError =>
  new SinkError.SinkError({ reason: "PluginMissing", message })

const keyOf = (plugin: Plugin.AnyPlugin): string =>
  plugin.kind === "exporter" ? `exporter:${plugin.format}` : `sink:${plugin.destination}`

const errorCode = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === "string") return code
  if (error instanceof Error) return error.message
  return String(error)
}
