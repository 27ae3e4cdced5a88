/**
 * Serves a built site over HTTP on 127.0.0.1 with sirv, for `pnpm
 * docs:serve` and for the browser test.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import sirv from "sirv"

/**
 * Options of `serveSite`.
 */
export interface ServeOptions {
  /** The folder of the built site. */
  readonly root: string
  /** The TCP port; 0 picks a free one. Default 0. */
  readonly port?: number | undefined
}

/**
 * A running server.
 */
export interface SiteServer {
  /** The site's address, such as `http://127.0.0.1:4173/`. */
  readonly url: string
  /** Stops accepting connections, ends idle ones and resolves when the server has closed. */
  close(): Promise<void>
}

/** The only interface the server listens on: the site is for this machine. */
const HOST = "127.0.0.1"

/** Starts serving `root`. Rejects when the port is in use or not allowed. */
export const serveSite = async (options: ServeOptions): Promise<SiteServer> => {
  const assets = sirv(options.root, { dev: false, etag: true })
  const server = createServer((request, response) => {
    assets(request, response, () => {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" })
      response.end("not found\n")
    })
  })

  await listen(server, options.port ?? 0)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${HOST}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)))
        server.closeIdleConnections()
      }),
  }
}

const listen = (server: Server, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, HOST, () => {
      server.off("error", reject)
      resolve()
    })
  })
