import net from "node:net";

/** A TCP proxy in front of the server that swallows the response to the first request whose head matches `drop`. */
export async function lossyProxy(
  target: string,
  drop: RegExp,
): Promise<{ url: string; dropped: () => number; close(): Promise<void> }> {
  const port = Number(new URL(target).port);
  let dropped = 0;
  const socks = new Set<net.Socket>();
  const proxy = net.createServer((c) => {
    const s = net.connect(port, "127.0.0.1");
    socks.add(c).add(s);
    let swallow = false;
    c.on("data", (d: Buffer) => {
      if (dropped === 0 && drop.test(d.toString("latin1"))) {
        swallow = true;
        dropped++;
      }
      s.write(d);
    });
    s.on("data", (d: Buffer) => {
      if (swallow)
        c.destroy(); // the request ran on the server, but its response is lost
      else c.write(d);
    });
    c.on("close", () => s.destroy());
    s.on("close", () => c.destroy());
    c.on("error", () => s.destroy());
    s.on("error", () => c.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const a = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${a.port}`,
    dropped: () => dropped,
    close: () =>
      new Promise<void>((r) => {
        for (const x of socks) x.destroy();
        proxy.close(() => r());
      }),
  };
}
