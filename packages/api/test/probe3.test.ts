import { expect, it } from "vitest"
import { enableTelemetry, exportTelemetry, setLogger, resetGlobals, monitorPerformance, getTelemetryManager } from "../src/index.js"

it("probe3", async () => {
  const lines: string[] = []
  const log = (l: string) => (m: string) => { lines.push(`${l}: ${m}`) }
  setLogger({ debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") })
  const ok = await enableTelemetry({ exportFormat: "prometheus", outputFile: "/tmp/x.prom" })
  monitorPerformance("a", () => 1)
  const exp = await exportTelemetry()
  const ok2 = await enableTelemetry({ exportFormat: "json", exportDestination: "http", httpEndpoint: "http://127.0.0.1:9/x" })
  const exp2 = await exportTelemetry()
  const ok3 = await enableTelemetry({ exportFormat: "xml", exportDestination: "file" })
  console.log(ok, exp, ok2, exp2, ok3, getTelemetryManager().config, lines)
  await resetGlobals()
})
