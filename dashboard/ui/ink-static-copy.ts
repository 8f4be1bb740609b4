/** Ink's copy of everything <Static> printed: beyond this it keeps only the newest part. */
const STATIC_COPY_MAX = 512 * 1024;
const STATIC_COPY_KEEP = 128 * 1024;

/**
 * Ink keeps every <Static> line it ever printed in memory (`fullStaticOutput`), only to redraw
 * them when the live area is taller than the terminal: a tail printing 2 000 lines/s for hours
 * would grow without bound. The terminal's scrollback has them; Ink needs only the newest.
 * Still needed with Ink 6.8: outside debug mode it appends every <Static> output to that copy
 * (to repaint after clearing the terminal), has no option to bound it, and neither `render()`'s
 * handle nor the package's `exports` give access to the instance. So this reaches Ink's internal
 * `instances.js`; if that ever changes, it does nothing (the screen still works, it just keeps
 * Ink's copy).
 */
export async function boundInkStaticCopy(
  stdout: object,
  limits: { max: number; keep: number; everyMs: number } = {
    max: STATIC_COPY_MAX,
    keep: STATIC_COPY_KEEP,
    everyMs: 2000,
  },
): Promise<NodeJS.Timeout | undefined> {
  try {
    const url = new URL('./instances.js', import.meta.resolve('ink'));
    const { default: instances } = (await import(url.href)) as {
      default: WeakMap<object, Record<string, unknown>>;
    };
    const timer = setInterval(() => {
      const instance = instances.get(stdout);
      const copy = instance?.fullStaticOutput;
      if (instance === undefined || typeof copy !== 'string' || copy.length <= limits.max) return;
      const from = copy.indexOf('\n', copy.length - limits.keep);
      instance.fullStaticOutput = copy.slice(from < 0 ? copy.length - limits.keep : from + 1);
    }, limits.everyMs);
    timer.unref();
    return timer;
  } catch {
    return undefined;
  }
}
