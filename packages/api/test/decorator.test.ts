import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  disablePerformanceMonitoring,
  getPerformanceMonitor,
  type OperationMetrics,
  performanceDecorator,
  resetGlobals,
  setLogger,
} from "../src/index.js"
import { capturingLogger, deferred } from "./helpers.js"

beforeEach(() => {
  setLogger(capturingLogger())
})

afterEach(async () => {
  await resetGlobals()
})

/** Records of `operation` kept by the process-wide monitor. */
const recordsOf = (operation: string): Array<OperationMetrics> =>
  getPerformanceMonitor().instance.getRecords(operation)

/** Names of every operation the process-wide monitor has summarized. */
const operationNames = (): Array<string> => Object.keys(getPerformanceMonitor().getMetricsSummary())

class Calculator {
  readonly factor: number
  readonly gate = deferred<number>()

  constructor(factor: number) {
    this.factor = factor
  }

  @performanceDecorator("expensive_calculation", { kind: "sum" })
  calculate(data: Array<number>, offset: number): number {
    return data.reduce((sum, value) => sum + value * this.factor, offset)
  }

  @performanceDecorator()
  scale(value: number): number {
    return value * this.factor
  }

  @performanceDecorator()
  async load(extra: number): Promise<number> {
    return (await this.gate.promise) + extra + this.factor
  }

  @performanceDecorator()
  explode(message: string): never {
    throw new RangeError(message)
  }

  @performanceDecorator()
  async reject(message: string): Promise<never> {
    await Promise.resolve()
    throw new Error(message)
  }

  @performanceDecorator()
  static create(factor: number): Calculator {
    return new Calculator(factor)
  }
}

describe("performanceDecorator on class methods", () => {
  it("keeps this, the arguments and the return value", () => {
    const calculator = new Calculator(2)

    const result = calculator.calculate([1, 2, 3], 10)

    expect(result).toBe(22)
  })

  it("records under the given name with metadata", () => {
    new Calculator(1).calculate([1], 0)

    const record = recordsOf("expensive_calculation")[0]
    expect(record?.status).toBe("ok")
    expect(record?.customMetrics).toEqual({ kind: "sum" })
  })

  it("takes the name from the method", () => {
    const result = new Calculator(3).scale(5)

    expect(result).toBe(15)
    expect(operationNames()).toEqual(["scale"])
  })

  it("takes the name from a static method", () => {
    const calculator = Calculator.create(4)

    expect(calculator.factor).toBe(4)
    expect(operationNames()).toEqual(["create"])
  })

  it("times an async method until it settles", async () => {
    const calculator = new Calculator(1)

    const result = calculator.load(10)

    expect(
      getPerformanceMonitor()
        .getActiveOperations()
        .map((active) => active.operation),
    ).toEqual(["load"])
    expect(recordsOf("load")).toEqual([])
    calculator.gate.resolve(100)
    await expect(result).resolves.toBe(111)
    expect(recordsOf("load")).toHaveLength(1)
    expect(getPerformanceMonitor().getActiveOperations()).toEqual([])
  })

  it("rethrows a thrown error with status error", () => {
    const calculator = new Calculator(1)
    let caught: unknown

    try {
      calculator.explode("out of range")
    } catch (error) {
      caught = error
    }

    expect(caught).toBeInstanceOf(RangeError)
    expect((caught as Error).message).toBe("out of range")
    const record = recordsOf("explode")[0]
    expect(record?.status).toBe("error")
    expect(record?.error).toBe("out of range")
  })

  it("rejects with the same error and status error", async () => {
    const calculator = new Calculator(1)

    const result = calculator.reject("remote failed")

    await expect(result).rejects.toThrow("remote failed")
    expect(recordsOf("reject")[0]?.status).toBe("error")
  })

  it("each instance keeps its own this", () => {
    const double = new Calculator(2)
    const triple = new Calculator(3)

    expect(double.scale(10)).toBe(20)
    expect(triple.scale(10)).toBe(30)
    expect(getPerformanceMonitor().getMetricsSummary("scale").scale?.count).toBe(2)
  })

  it("runs the method while monitoring is disabled", () => {
    disablePerformanceMonitoring()

    const result = new Calculator(2).scale(4)

    expect(result).toBe(8)
    expect(operationNames()).toEqual([])
  })
})

describe("performanceDecorator on plain functions", () => {
  it("takes the name from the function", () => {
    const parse = performanceDecorator()(function parseConfig(text: string): unknown {
      return JSON.parse(text)
    })

    const parsed = parse('{"retries":3}')

    expect(parsed).toEqual({ retries: 3 })
    expect(operationNames()).toEqual(["parseConfig"])
  })

  it("names an unnamed function anonymous", () => {
    const wrapped = performanceDecorator()((value: number) => value + 1)

    const result = wrapped(1)

    expect(result).toBe(2)
    expect(operationNames()).toEqual(["anonymous"])
  })

  it("uses the given name and metadata", () => {
    const calculateResult = performanceDecorator("expensive_calculation", { source: "batch" })(
      (data: Array<number>) => Math.max(...data),
    )

    const result = calculateResult([4, 9, 2])

    expect(result).toBe(9)
    expect(recordsOf("expensive_calculation")[0]?.customMetrics).toEqual({ source: "batch" })
  })

  it("keeps this when called as a method", () => {
    const counter = {
      count: 5,
      next: performanceDecorator()(function next(this: { count: number }, step: number) {
        this.count += step
        return this.count
      }),
    }

    const result = counter.next(2)

    expect(result).toBe(7)
    expect(counter.count).toBe(7)
  })

  it("times an async function until it settles", async () => {
    const gate = deferred<string>()
    const fetchUser = performanceDecorator()(async function fetchUser(id: number) {
      return `${await gate.promise}-${id}`
    })

    const result = fetchUser(42)

    expect(recordsOf("fetchUser")).toEqual([])
    gate.resolve("user")
    await expect(result).resolves.toBe("user-42")
    expect(recordsOf("fetchUser")[0]?.status).toBe("ok")
  })

  it("rethrows the same error with status error", () => {
    const failure = new Error("validation failed")
    const validate = performanceDecorator()(function validate(): void {
      throw failure
    })
    let caught: unknown

    try {
      validate()
    } catch (error) {
      caught = error
    }

    expect(caught).toBe(failure)
    expect(recordsOf("validate")[0]?.status).toBe("error")
  })

  it("records each call", () => {
    const tick = performanceDecorator("tick")(() => undefined)

    tick()
    tick()
    tick()

    expect(getPerformanceMonitor().getMetricsSummary("tick").tick?.count).toBe(3)
  })
})
