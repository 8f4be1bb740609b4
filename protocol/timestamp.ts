/** Epoch numbers below this are seconds: 1e11 s is the year 5138, while 1e11 ms is 1973. */
const SECONDS_BELOW = 1e11;

/** An epoch time as milliseconds, whether written in seconds (AMQP, some loggers) or milliseconds (pino, bunyan). */
export function epochToMs(epoch: number): number {
  return epoch < SECONDS_BELOW ? epoch * 1000 : epoch;
}
