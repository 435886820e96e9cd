/** What one bench scenario measured; the restore scenario adds its own figures. */
export interface Result {
  readonly scenario: string;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly peakRssMiB: number;
  readonly peakHeapMiB: number;
  /** User plus system CPU time of the whole process while the scenario ran (all threads). */
  readonly cpuSeconds: number;
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const round3 = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Samples memory every `sampleMs` while `work` runs, and times it. `work` may resolve with the
 * seconds to report when the interesting moment is not its end (e.g. the app reaching `running`).
 */
export async function measure(scenario: string, records: number, work: () => Promise<number | undefined>, sampleMs = 50): Promise<Result> {
  global.gc?.();
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  const timer = setInterval(sample, sampleMs);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const reported = await work();
  const seconds = reported ?? Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(timer);
  sample();
  return {
    scenario,
    records,
    seconds: round3(seconds),
    recordsPerSecond: Math.round(records / seconds),
    peakRssMiB: mib(peakRss),
    peakHeapMiB: mib(peakHeap),
    cpuSeconds: round3((cpu.user + cpu.system) / 1e6),
  };
}
