/**
 * Whether testcontainers can reach a container runtime here. Asked once per run; a machine with no
 * Docker engine (like this project's CI) answers "no" within milliseconds.
 */
let answer: Promise<boolean> | undefined;

async function probe(timeoutMs: number): Promise<boolean> {
  if (process.env.TEST_CONTAINERS === "off") return false;
  try {
    // Loaded lazily: the testcontainers module itself is heavy, and a broken install must not stop the suite.
    const { getContainerRuntimeClient } = await import("testcontainers");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const client = await Promise.race([getContainerRuntimeClient(), timeout]).finally(() => clearTimeout(timer));
    return Boolean(client.info.containerRuntime.serverVersion);
  } catch (error) {
    process.stderr.write(`[tests] no container runtime (${(error as Error).message.split("\n")[0]}): using in-process services\n`);
    return false;
  }
}

export function hasContainerRuntime(timeoutMs = 5_000): Promise<boolean> {
  answer ??= probe(timeoutMs);
  return answer;
}
